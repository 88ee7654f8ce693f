// OPA's standard builtin library (issue 3). Each module registers its functions with
// ./types.ts at import time; src/rego/builtins/index.ts loads this file.
import "./strings.js";
import "./numbers.js";
import "./collections.js";
import "./encoding.js";
import "./regex.js";
import "./glob.js";
import "./units.js";
import "./net.js";
import "./time.js";
import "./misc.js";
import "./jwt.js";
