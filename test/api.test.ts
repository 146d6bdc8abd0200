/**
 * The public API, as lib/index.ts exports it: every exported class, interface
 * and member is documented, and every optional property says its default
 * (`@default`), as the CDK design guidelines ask. API Extractor's report
 * (api/, checked in CI) shows the signatures; this checks the docs.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';

const LIB = path.join(__dirname, '..', 'lib');
const INDEX = path.join(LIB, 'index.ts');
// Only lib/'s own files (noResolve: imports between them resolve, aws-cdk-lib's declarations are not loaded): the
// documentation and tags checked here are all declared in lib/, and the type check is tsc's (npm run build).
const sources = fs.readdirSync(LIB, { recursive: true, encoding: 'utf-8' })
  .filter((f) => f.endsWith('.ts') && !f.split(path.sep).includes('runtime'))
  .map((f) => path.join(LIB, f));
const program = ts.createProgram(sources, { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, strict: true, noResolve: true, noLib: true, types: [], noEmit: true });
const checker = program.getTypeChecker();
const exported = checker.getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(INDEX)!)!)
  .map((s) => (s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s));

const docs = (symbol: ts.Symbol) => ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim();
const tags = (symbol: ts.Symbol) => symbol.getJsDocTags(checker).map((t) => t.name);
const declaredInLib = (symbol: ts.Symbol) => (symbol.declarations ?? []).some((d) => d.getSourceFile().fileName.includes(`${path.sep}lib${path.sep}`));

test('lib/index.ts exports the constructs and their props', () => {
  expect(exported.map((s) => s.name)).toEqual(expect.arrayContaining([
    'TestedImage', 'TestedImageProps', 'InstanceImage', 'InstanceImageProps', 'InstanceImageOptions', 'ImageDistribution', 'ImageDistributionProps',
    'ImageDistributionOptions', 'Recipe', 'BaseImage', 'ReportedScript', 'ReportedScriptProps', 'HardenedInstance', 'HardenedInstanceProps',
  ]));
});

test('every exported name and every public member declared in lib/ is documented', () => {
  const undocumented: string[] = [];
  for (const symbol of exported) {
    if (!docs(symbol)) undocumented.push(symbol.name);
    const members = symbol.flags & (ts.SymbolFlags.Class | ts.SymbolFlags.Interface)
      ? [...(symbol.members?.values() ?? []), ...(symbol.exports?.values() ?? [])] : [];
    for (const member of members.filter(declaredInLib)) {
      const modifiers = (member.valueDeclaration && ts.canHaveModifiers(member.valueDeclaration) ? ts.getModifiers(member.valueDeclaration) : undefined) ?? [];
      if (modifiers.some((m) => m.kind === ts.SyntaxKind.PrivateKeyword || m.kind === ts.SyntaxKind.ProtectedKeyword)) continue;
      if (member.name === '__constructor' || member.name === 'prototype') continue;
      if (!docs(member)) undocumented.push(`${symbol.name}.${member.name}`);
    }
  }
  expect(undocumented).toEqual([]);
});

test('every optional property of an exported interface says its default', () => {
  const missing: string[] = [];
  for (const symbol of exported.filter((s) => s.flags & ts.SymbolFlags.Interface)) {
    for (const property of checker.getPropertiesOfType(checker.getDeclaredTypeOfSymbol(symbol))) {
      if (property.flags & ts.SymbolFlags.Optional && declaredInLib(property) && !tags(property).includes('default')) missing.push(`${symbol.name}.${property.name}`);
    }
  }
  expect(missing).toEqual([]);
});
