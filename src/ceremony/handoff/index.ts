// The hand-off protocol (DESIGN §3.4) as pure phase functions: deal → acknowledge (and complaints)
// → qualify → combine. Refresh is a hand-off whose new roster equals the old. docs/handoff.md.
export * from './messages.js';
export * from './deal.js';
export * from './acknowledge.js';
export * from './qualify.js';
export * from './combine.js';
