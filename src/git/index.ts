export { openHub, type Hub, type HubOptions, type GitAuth, type CommitChange, type CommitInfo } from './hub.js';
export { parseTrailers, withTrailers } from './trailers.js';
export { gitError, redact } from './errors.js';
