// Unit tests resolve workspace packages to their TypeScript sources, so they need no build.
const conditions = ['@nsinit/source', 'node', 'import', 'default'];

export const sourceFirst = {
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['@nsinit/source'] } },
};
