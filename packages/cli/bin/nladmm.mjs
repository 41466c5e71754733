#!/usr/bin/env node
// The nladmm command: registers tsx's TypeScript loader in this process and runs the CLI entry.
import { register } from 'tsx/esm/api';

register();
await import(new URL('../src/main.ts', import.meta.url).href);
