/** The README and the guides, run as written: the documents dealt to shard 1 of 2 (see guide-suite.ts). */
import { describeGuides } from '../helpers/guide-suite.js';

await describeGuides(0, 2);
