import { exposeFaulty } from "./_faulty.ts";

exposeFaulty("crash");
