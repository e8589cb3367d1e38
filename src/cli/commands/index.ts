import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { register as validate } from './validate.js';

/** Every `kaidu` sub-command, in the order `kaidu --help` lists them. */
export const commands: Array<(program: Command, ctx: CommandContext) => void> = [validate];
