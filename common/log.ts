import { pino, type Logger } from 'pino';

/** How much a log line matters: `warn` for what an operator should look at, `error` for failures. */
export type LogLevel = 'info' | 'warn' | 'error';

/** The log function the components take: a message, structured fields, and a level (info when absent). */
export type LogFn = (message: string, fields: Record<string, unknown>, level?: LogLevel) => void;

/** JSON lines on stderr (what a DaemonSet's log collector wants); the threshold from $LOG_LEVEL. */
export function createLogger(component: string): { logger: Logger; log: LogFn } {
  const logger = pino({ name: `kube-netstat-${component}`, level: process.env.LOG_LEVEL ?? 'info' }, pino.destination(2));
  return { logger, log: (message, fields, level = 'info') => logger[level](fields, message) };
}
