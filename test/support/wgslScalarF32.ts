/**
 * A small interpreter for the WGSL snippets of an activation (the body of `fn(x: f32) -> f32`), evaluated in
 * emulated f32: every literal, operation and builtin result is rounded with Math.fround, so f32 overflow
 * (x² > 3.4e38, exp(x) for x > 88.7) shows up as it would on a GPU. It lets the CPU tests check that the WGSL
 * forms stay finite and agree with the scalar σ, σ′ without a WebGPU device.
 *
 * Supported: `let name = expr;` and `return expr;` statements; + − * /, unary −, < <= > >=, parentheses,
 * float literals and the builtins below (those the activation snippets use; any other call is refused). The
 * builtins model the least favourable implementation WGSL allows where that matters: tanh as
 * (e^{2x} − 1)/(e^{2x} + 1), which is NaN in f32 once |x| > 44.
 */
type Value = number | boolean;
type Env = Map<string, Value>;
type Expr = (env: Env) => Value;

const f32 = Math.fround;

function naiveTanhF32(a: number): number {
  const e = f32(Math.exp(f32(2 * a)));
  return f32(f32(e - 1) / f32(e + 1));
}

const BUILTINS: Record<string, (...args: Value[]) => Value> = {
  abs: (a) => f32(Math.abs(a as number)),
  exp: (a) => f32(Math.exp(a as number)),
  inverseSqrt: (a) => f32(1 / Math.sqrt(a as number)),
  atan: (a) => f32(Math.atan(a as number)),
  tanh: (a) => naiveTanhF32(a as number),
  clamp: (a, lo, hi) => Math.min(Math.max(a as number, lo as number), hi as number),
  /** WGSL's select(f, t, cond): t when cond holds, else f. */
  select: (f, t, cond) => (cond ? t : f),
};

const BINARY: Record<string, (a: number, b: number) => Value> = {
  '+': (a, b) => f32(a + b),
  '-': (a, b) => f32(a - b),
  '*': (a, b) => f32(a * b),
  '/': (a, b) => f32(a / b),
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
};

const TOKEN = /\s*(?:(\d+\.?\d*(?:[eE][+-]?\d+)?f?|\.\d+(?:[eE][+-]?\d+)?f?)|([A-Za-z_]\w*)|(<=|>=|[-+*/<>(),;=]))/y;

function tokenize(source: string): string[] {
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < source.length) {
    if (/^\s*$/.test(source.slice(TOKEN.lastIndex))) break;
    const start = TOKEN.lastIndex;
    const m = TOKEN.exec(source);
    if (!m) throw new SyntaxError(`WGSL snippet: unexpected input at ${JSON.stringify(source.slice(start))}`);
    tokens.push(m[1] ?? m[2] ?? m[3]);
  }
  return tokens;
}

/** Compiles a WGSL function body with parameter `x: f32` into a function of x evaluated in emulated f32. */
export function compileWgslScalarF32(body: string): (x: number) => number {
  const tokens = tokenize(body);
  let pos = 0;
  const peek = () => tokens[pos];
  const expect = (token: string) => {
    if (tokens[pos] !== token) throw new SyntaxError(`WGSL snippet: expected '${token}', got '${tokens[pos]}' in ${body}`);
    pos++;
  };

  const primary = (): Expr => {
    const token = tokens[pos++];
    if (token === undefined) throw new SyntaxError(`WGSL snippet: unexpected end of ${body}`);
    if (token === '(') {
      const inner = expression();
      expect(')');
      return inner;
    }
    if (/^[\d.]/.test(token)) {
      const value = f32(Number.parseFloat(token));
      return () => value;
    }
    if (/^[A-Za-z_]/.test(token)) {
      if (peek() !== '(') return (env) => {
        const value = env.get(token);
        if (value === undefined) throw new ReferenceError(`WGSL snippet: unknown identifier '${token}' in ${body}`);
        return value;
      };
      const fn = BUILTINS[token];
      if (!fn) throw new ReferenceError(`WGSL snippet: unsupported function '${token}' in ${body}`);
      pos++;
      const args: Expr[] = [];
      while (peek() !== ')') {
        args.push(expression());
        if (peek() === ',') pos++;
      }
      pos++;
      return (env) => fn(...args.map((arg) => arg(env)));
    }
    throw new SyntaxError(`WGSL snippet: unexpected '${token}' in ${body}`);
  };
  const unary = (): Expr => {
    if (peek() !== '-') return primary();
    pos++;
    const operand = unary();
    return (env) => -(operand(env) as number);
  };
  const binaryLevel = (operators: string[], next: () => Expr) => (): Expr => {
    let left = next();
    while (operators.includes(peek())) {
      const op = BINARY[tokens[pos++]];
      const lhs = left;
      const rhs = next();
      left = (env) => op(lhs(env) as number, rhs(env) as number);
    }
    return left;
  };
  const multiplicative = binaryLevel(['*', '/'], unary);
  const additive = binaryLevel(['+', '-'], multiplicative);
  const expression = binaryLevel(['<', '<=', '>', '>='], additive);

  const statements: Array<(env: Env) => Value | undefined> = [];
  while (pos < tokens.length) {
    if (peek() === 'let') {
      pos++;
      const name = tokens[pos++];
      expect('=');
      const value = expression();
      statements.push((env) => void env.set(name, value(env)));
    } else {
      expect('return');
      const value = expression();
      statements.push((env) => value(env));
    }
    expect(';');
  }
  return (x) => {
    const env: Env = new Map([['x', f32(x)]]);
    for (const statement of statements) {
      const result = statement(env);
      if (result !== undefined) return result as number;
    }
    throw new SyntaxError(`WGSL snippet: no return in ${body}`);
  };
}
