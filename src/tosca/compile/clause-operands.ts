/**
 * Operands of constraint and validation clauses checked against the type they constrain
 * (1.3 §3.6.3, 2.0 §10.2): once per definition, where the types are known, not per value. A
 * property `type: integer` with `greater_than: abc` is refused at `abc`, as is `5 parsecs` on a
 * scalar-unit.size or `valid_values: [ 1, x ]` on an integer.
 */
import type { Unit } from '../loader.js';
import type { Offset, SchemaRecord } from '../document/records.js';
import { locationAt } from '../document/offsets.js';
import { constraintOperands, validationOperands, type TypedOperand } from '../validation/operands.js';
import type { CompileContext } from './context.js';

/** Every definition of the user's files (profiles are trusted) and the service's inputs and outputs. */
export function checkClauseOperands(ctx: CompileContext): void {
  for (const t of ctx.loader.types.values()) {
    if (t.unit.fromProfiles) continue;
    const rec = t.rec;
    for (const d of rec.properties ?? []) checkSchema(ctx, d, d.type, t.unit, `property "${d.name}" of ${t.name}`, d.at);
    for (const d of rec.attributes ?? []) checkSchema(ctx, d, d.type, t.unit, `attribute "${d.name}" of ${t.name}`, d.at);
    for (const d of rec.inputs ?? []) checkSchema(ctx, d, d.type, t.unit, `input "${d.name}" of ${t.name}`, d.at);
    // A data type's own clauses bound values of the data type itself.
    if (t.family === 'data') checkSchema(ctx, rec, t.name, t.unit, `data type ${t.name}`, rec.at ?? 0);
  }
  const service = ctx.unit.record.service;
  for (const p of service?.inputs ?? []) checkSchema(ctx, p.definition, p.definition.type, ctx.unit, `input "${p.name}"`, p.at);
  for (const o of service?.outputs ?? []) if (o.definition) checkSchema(ctx, o.definition, o.definition.type, ctx.unit, `output "${o.name}"`, o.at);
}

function checkSchema(ctx: CompileContext, rec: SchemaRecord | undefined, type: string | undefined, unit: Unit, what: string, at: Offset, depth = 0): void {
  if (!rec || depth > 16) return;
  // A refinement that names no type keeps its parent's: its operands are not judged here.
  if (type !== undefined) {
    if (rec.constraints !== undefined) report(ctx, constraintOperands(rec.constraints), rec.constraintsAt, type, unit, `constraint of ${what}`, at);
    if (rec.validation !== undefined) report(ctx, validationOperands(rec.validation), rec.validationAt, type, unit, `validation of ${what}`, at);
  }
  checkSchema(ctx, rec.entry, rec.entry?.type, unit, `entry_schema of ${what}`, at, depth + 1);
  checkSchema(ctx, rec.key, rec.key?.type, unit, `key_schema of ${what}`, at, depth + 1);
}

function report(ctx: CompileContext, operands: TypedOperand[], offsets: Offset[] | undefined, type: string, unit: Unit, what: string, at: Offset): void {
  for (const o of operands) {
    const message = ctx.checker.operandMismatch(o.value, type, unit, `${o.op} in the ${what}`);
    if (message === undefined) continue;
    ctx.report('error', 'E_TOSCA_VALUE_TYPE', message, locationAt(unit.src, offsets?.[o.index] ?? at), `the operand of ${o.op} must be of the type it constrains (${type})`);
  }
}
