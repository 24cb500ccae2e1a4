import { pino, type Logger } from 'pino';

/** The log function the components take: a message and structured fields. */
export type LogFn = (message: string, fields: Record<string, unknown>) => void;

/** JSON lines on stderr (what a DaemonSet's log collector wants); the level from $LOG_LEVEL. */
export function createLogger(component: string): { logger: Logger; log: LogFn } {
  const logger = pino({ name: `kube-netstat-${component}`, level: process.env.LOG_LEVEL ?? 'info' }, pino.destination(2));
  return { logger, log: (message, fields) => logger.info(fields, message) };
}
