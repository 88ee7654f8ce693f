// Assembles the hand-written OPA-ABI policy module (fixtures/decision.wat) with wabt.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import wabtInit from "wabt";

export async function decisionWasm(): Promise<Uint8Array> {
  const wabt = await wabtInit();
  const path = fileURLToPath(new URL("./fixtures/decision.wat", import.meta.url));
  const mod = wabt.parseWat("decision.wat", readFileSync(path, "utf8"));
  try {
    return mod.toBinary({}).buffer;
  } finally {
    mod.destroy();
  }
}
