/**
 * Operands of constraint and validation clauses checked against the type they constrain
 * (1.3 §3.6.3, 2.0 §10.2): once per definition, where the types are known, not per value. A
 * property `type: integer` with `greater_than: abc` is refused at `abc`, as is `5 parsecs` on a
 * scalar-unit.size or `valid_values: [ 1, x ]` on an integer.
 */
import type { TypeDef, Unit } from '../loader.js';
import type { Offset, SchemaRecord } from '../document/records.js';
import { locationAt } from '../document/offsets.js';
import { constraintOperands, validationOperands, type TypedOperand } from '../validation/operands.js';
import type { CompileContext } from './context.js';

/** Every definition of the user's files (profiles are trusted) and the service's inputs and outputs. */
export function checkClauseOperands(ctx: CompileContext): void {
  for (const t of ctx.loader.types.values()) {
    if (t.unit.fromProfiles) continue;
    const rec = t.rec;
    for (const key of KEYS) {
      for (const d of rec[key] ?? []) {
        const [type, unit] = d.type !== undefined ? [d.type, t.unit] : inherited(ctx, t, key, d.name);
        checkSchema(ctx, d, type, unit, `${WORD[key]} "${d.name}" of ${t.name}`, d.at, 0, t.unit);
      }
    }
    // A data type's own clauses bound values of the data type itself.
    if (t.family === 'data') checkSchema(ctx, rec, t.name, t.unit, `data type ${t.name}`, rec.at ?? 0);
  }
  const service = ctx.unit.record.service;
  for (const p of service?.inputs ?? []) checkSchema(ctx, p.definition, p.definition.type, ctx.unit, `input "${p.name}"`, p.at);
  for (const o of service?.outputs ?? []) if (o.definition) checkSchema(ctx, o.definition, o.definition.type, ctx.unit, `output "${o.name}"`, o.at);
}

const KEYS = ['properties', 'attributes', 'inputs'] as const;
const WORD = { properties: 'property', attributes: 'attribute', inputs: 'input' } as const;

/**
 * The type a refinement without `type` keeps (2.0 §8.x: a derived type refines its parent's
 * definition), with the unit it is written in; [undefined] when no parent defines it.
 */
function inherited(ctx: CompileContext, t: TypeDef, key: (typeof KEYS)[number], name: string): [string | undefined, Unit | undefined] {
  const chain = ctx.loader.chain(t.family, t.canonical);
  for (let i = 1; i < chain.length; i++) {
    const def = ctx.loader.def(t.family, chain[i]!);
    const d = def?.rec[key]?.find((x) => x.name === name && x.type !== undefined);
    if (d) return [d.type, def!.unit];
  }
  return [undefined, undefined];
}

/**
 * `rec`'s clauses against `type`, a name in `typeUnit` (the parent's file for a refinement);
 * `written` is the file `rec` is in. No type (nothing defines one): nothing to judge here.
 */
function checkSchema(ctx: CompileContext, rec: SchemaRecord | undefined, type: string | undefined, typeUnit: Unit | undefined, what: string, at: Offset, depth = 0, written = typeUnit): void {
  if (!rec || depth > 16 || !written) return;
  if (type !== undefined && typeUnit) {
    const judge = { type, typeUnit, written, at };
    if (rec.constraints !== undefined) report(ctx, constraintOperands(rec.constraints), rec.constraintsAt, judge, `constraint of ${what}`);
    if (rec.validation !== undefined) report(ctx, validationOperands(rec.validation), rec.validationAt, judge, `validation of ${what}`);
  }
  checkSchema(ctx, rec.entry, rec.entry?.type, written, `entry_schema of ${what}`, at, depth + 1);
  checkSchema(ctx, rec.key, rec.key?.type, written, `key_schema of ${what}`, at, depth + 1);
}

function report(ctx: CompileContext, operands: TypedOperand[], offsets: Offset[] | undefined, j: { type: string; typeUnit: Unit; written: Unit; at: Offset }, what: string): void {
  for (const o of operands) {
    const message = ctx.checker.operandMismatch(o.value, j.type, j.typeUnit, `${o.op} in the ${what}`, j.written.version === 2);
    if (message === undefined) continue;
    ctx.report('error', 'E_TOSCA_VALUE_TYPE', message, locationAt(j.written.src, offsets?.[o.index] ?? j.at), `the operand of ${o.op} must be of the type it constrains (${j.type})`);
  }
}
