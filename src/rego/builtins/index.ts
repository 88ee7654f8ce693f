// Loads every builtin module (each registers its functions with ./types.ts at import time).
// Add one import line per builtin module.
import "./core-operators.js";
import "./library.js";
