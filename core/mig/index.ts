/** MIG geometry, layout feasibility, tiers, first-fit placement, fragmentation and mig-parted output. */
export * from './geometry.js';
export * from './layout.js';
export * from './tiers.js';
export * from './patterns.js';
export * from './first-fit.js';
export * from './fragmentation.js';
export * from './mig-parted.js';
