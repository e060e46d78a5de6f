/** Entry of the folding thread (see `fold.ts`). */
import { serveFolds } from './fold.js';

serveFolds();
