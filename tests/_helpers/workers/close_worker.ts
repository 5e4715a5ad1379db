import { exposeFaulty } from "./_faulty.ts";

exposeFaulty("close");
