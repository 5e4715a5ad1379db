import { exposeFaulty } from "./_faulty.ts";

exposeFaulty("hang");
