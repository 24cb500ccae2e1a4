#!/usr/bin/env node
// kubectl finds any executable named kubectl-netstat on PATH; it is `kube-netstat query`.
import { main } from '../dist/cmd/kube-netstat.js';

process.exitCode = await main(['query', ...process.argv.slice(2)]);
