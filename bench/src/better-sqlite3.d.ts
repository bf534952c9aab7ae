// The part of better-sqlite3's API the example load check uses (the package ships no types).
declare module 'better-sqlite3' {
  class Database {
    constructor(file: string);
    prepare(sql: string): { run(...parameters: unknown[]): { changes: number } };
    close(): void;
  }
  export default Database;
}
