import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { register as validate } from './validate.js';
import { register as graph } from './graph.js';
import { register as plan } from './plan.js';
import { register as apply } from './apply.js';
import { register as agent } from './agent.js';
import { register as status } from './status.js';
import { register as ui } from './ui.js';
import { register as demo } from './demo.js';
import { register as init } from './init.js';
import { register as prComment } from './pr-comment.js';
import { register as trigger, registerNotify as notify } from './trigger.js';

/** Every `kaidu` sub-command, in the order `kaidu --help` lists them. */
export const commands: Array<(program: Command, ctx: CommandContext) => void> = [
  validate,
  graph,
  plan,
  apply,
  agent,
  status,
  ui,
  demo,
  init,
  prComment,
  trigger,
  notify,
];
