export const FREE_PLAN_LIMIT: number;
export function measure(dir: string): { files: string[]; raw: number; gzip: number };
