import { exposeFaulty } from "./_faulty.ts";

exposeFaulty("throw");
