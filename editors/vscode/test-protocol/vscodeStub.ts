// Lets vscode-languageclient load outside VS Code: `require('vscode')` gets an inert stand-in,
// enough for constructing a LanguageClient and asking it for the client capabilities it would
// send. Nothing here is called at run time of the extension.
import Module = require('module');

function inert(path: string): unknown {
  const target = function () { return inert(`${path}()`); };
  return new Proxy(target, {
    get(_t, property) {
      if (property === 'then') return undefined; // not a thenable
      if (property === Symbol.toPrimitive) return () => path;
      if (path === 'vscode' && property === 'version') return '1.91.0';
      return inert(`${path}.${String(property)}`);
    },
    construct() { return inert(`new ${path}`) as object; },
  });
}

export function installVscodeStub(): void {
  const loader = Module as unknown as { _resolveFilename: (request: string, ...rest: unknown[]) => string };
  const resolve = loader._resolveFilename;
  loader._resolveFilename = function (request: string, ...rest: unknown[]) {
    return request === 'vscode' ? 'vscode' : resolve.call(this, request, ...rest);
  };
  require.cache['vscode'] = { id: 'vscode', filename: 'vscode', loaded: true, exports: inert('vscode') } as NodeJS.Module;
}
