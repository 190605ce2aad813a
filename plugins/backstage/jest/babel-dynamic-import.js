// babel-jest tells Babel that Jest supports import(), so the CommonJS transform keeps
// it; Jest then needs Node's experimental VM modules to run it. Backstage's frontend
// packages load parts lazily with import(): here each becomes a require in a promise.
module.exports = function dynamicImportToRequire({ types: t }) {
  return {
    name: 'dynamic-import-to-require',
    visitor: {
      CallExpression(path) {
        if (path.node.callee.type !== 'Import') return;
        const load = t.arrowFunctionExpression(
          [],
          t.callExpression(t.identifier('require'), path.node.arguments),
        );
        const resolved = t.callExpression(
          t.memberExpression(t.identifier('Promise'), t.identifier('resolve')),
          [],
        );
        path.replaceWith(
          t.callExpression(t.memberExpression(resolved, t.identifier('then')), [load]),
        );
      },
    },
  };
};
