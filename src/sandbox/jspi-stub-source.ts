// Worker-source snippet: a cheap WebAssembly.promising stub for runtimes without JSPI.
// jco's generated glue wraps exports in `try { WebAssembly.promising(f) } catch {}` inside
// its one huge instantiation function. Without JSPI that call throws "not a function", and
// V8 renders that message by re-parsing the whole enclosing function (~5 ms per throw, four
// throws per QuickJS instance: ~75% of the instantiation time). The stub throws a
// pre-built error instead, so the glue takes the same fallback branch at no cost.
// Non-enumerable, and only installed where JSPI is absent, so nothing else changes.

export const JSPI_STUB_SOURCE = `
if (typeof WebAssembly.promising !== "function") {
  const noJspi = new TypeError("WebAssembly.promising is not available (no JSPI)");
  Object.defineProperty(WebAssembly, "promising", {
    value: function promising() { throw noJspi; },
    writable: true,
    configurable: true,
    enumerable: false,
  });
}
`;
