/**
 * One JSON object per line on stdout, which CloudWatch Logs Insights queries as
 * fields. Hand-written on purpose: a logging library would more than double the
 * handler bundle (Powertools Logger alone bundles to 24 KB) for what fits in
 * this file.
 */
/* eslint-disable no-console */
type Level = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
type Fields = Record<string, unknown>;

const context: Fields = {};

/** Fields added to every following line (request id, logical id). */
export function appendKeys(fields: Fields): void {
  Object.assign(context, fields);
}

function write(level: Level, message: string, fields: Fields = {}): void {
  console.log(JSON.stringify({ level, message, ...context, ...fields }));
}

export const log = {
  debug: (message: string, fields?: Fields) => write('DEBUG', message, fields),
  info: (message: string, fields?: Fields) => write('INFO', message, fields),
  warn: (message: string, fields?: Fields) => write('WARN', message, fields),
  error: (message: string, fields?: Fields) => write('ERROR', message, fields),
};
