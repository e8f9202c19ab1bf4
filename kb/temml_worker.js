// Typesets TeX into MathML for the build (kb/math.py starts it once per build).
// Protocol: one JSON line in per page, [[tex, display], ...]; one JSON line out, [[mathml, error], ...].
const temml = require("temml");
const readline = require("readline");

function typeset([tex, display]) {
  try {
    // throwOnError: an unknown macro must stop the build, not be drawn in red on the page.
    return [temml.renderToString(tex, { displayMode: display, throwOnError: true }), null];
  } catch (err) {
    return [null, String(err.message || err)];
  }
}

readline.createInterface({ input: process.stdin }).on("line", (line) => {
  process.stdout.write(JSON.stringify(JSON.parse(line).map(typeset)) + "\n");
});
