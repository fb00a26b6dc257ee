'use strict';
// A node --test reporter that prints flat TAP: one `ok N - file: suite > test` line per
// test (suites are not counted), with failures and diagnostics as `#` comments. Meson's
// TAP parser reads only top-level lines, so with node's nested TAP it would count suites,
// not tests. Used by node/meson.build: --test-reporter=./test/flat-tap.js
const path = require('node:path');

module.exports = async function* flatTap(source) {
  yield 'TAP version 13\n';
  let n = 0;
  const open = []; // names of the suites/tests started, by nesting level
  for await (const event of source) {
    const d = event.data;
    switch (event.type) {
      case 'test:start':
        open[d.nesting] = d.name;
        open.length = d.nesting + 1;
        break;
      case 'test:pass':
      case 'test:fail': {
        if (d.details?.type === 'suite') break;
        n += 1;
        const file = d.file ? `${path.basename(d.file)}: ` : '';
        const title = `${file}${[...open.slice(0, d.nesting), d.name].join(' > ')}`.replace(/#/g, '\\#');
        const skip = d.skip ? ' # SKIP' : d.todo ? ' # TODO' : '';
        yield `${event.type === 'test:pass' ? 'ok' : 'not ok'} ${n} - ${title}${skip}\n`;
        if (event.type === 'test:fail') {
          const err = d.details?.error;
          const text = String(err?.cause?.stack ?? err?.stack ?? err?.message ?? err);
          yield `${text.split('\n').map((l) => `#   ${l}`).join('\n')}\n`;
        }
        break;
      }
      case 'test:diagnostic':
        if (d.nesting > 0) yield `# ${d.message}\n`; // the run totals come from the lines above
        break;
      case 'test:stderr':
      case 'test:stdout':
        yield `${String(d.message).trimEnd().split('\n').map((l) => `# ${l}`).join('\n')}\n`;
        break;
      default:
        break;
    }
  }
  yield `1..${n}\n`;
};
