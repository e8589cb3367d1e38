/**
 * One error family with stable codes a caller can switch on (see STYLE.md).
 * Codes are part of the public contract: never rename one, add a new one.
 */
export type KaiduErrorCode =
  | 'E_USAGE'
  | 'E_IO'
  | 'E_CONFIG'
  | 'E_COMPILE'
  | 'E_STATE_INVALID'
  | 'E_STATE_WRITE'
  | 'E_PLAN_STALE'
  | 'E_PLAN_INVALID'
  | 'E_DELEGATE'
  | 'E_DELEGATE_TIMEOUT'
  | 'E_DELEGATE_UNKNOWN'
  | 'E_COMMAND_FAILED'
  | 'E_COMMAND_TIMEOUT'
  | 'E_PORT_IN_USE'
  | 'E_PROCESS_EXITED'
  | 'E_PROCESS_NOT_READY'
  | 'E_APPLY_CANCELLED'
  | 'E_GIT'
  | 'E_GIT_NOT_FOUND'
  | 'E_GIT_PUSH_REJECTED'
  | 'E_GIT_AUTH'
  | 'E_GIT_UNREACHABLE'
  | 'E_WEBHOOK_SIGNATURE'
  | 'E_WEBHOOK_PAYLOAD'
  | 'E_API'
  | 'E_API_AUTH'
  | 'E_API_RATE_LIMIT'
  | 'E_API_NOT_FOUND'
  | 'E_PATH_CONFINED'
  | 'E_REPO_SYMLINK'
  | 'E_RELAY_STALE'
  | 'E_RELAY_LOOP';

export class KaiduError extends Error {
  readonly code: KaiduErrorCode;
  /** A short suggestion for the user, printed after the message. */
  readonly hint?: string;
  readonly details?: Record<string, unknown>;

  constructor(
    code: KaiduErrorCode,
    message: string,
    options: { hint?: string; cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'KaiduError';
    this.code = code;
    this.hint = options.hint;
    this.details = options.details;
  }
}

export function isKaiduError(err: unknown, code?: KaiduErrorCode): err is KaiduError {
  return err instanceof KaiduError && (code === undefined || err.code === code);
}
