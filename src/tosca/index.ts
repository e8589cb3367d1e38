export { compileService, createCompileCache, type CompileOptions, type CompileCache } from './compile.js';
export * from './model.js';
export * from './diagnostic.js';
