// Exact amounts. The API sends points and hours in decimal strings with at most two decimals
// ("12.50"), never JSON numbers; arithmetic here is on integer minor units (bigint), never floats.

const AMOUNT = /^(-?)(\d{1,12})(?:\.(\d{1,2}))?$/;

/** Minor units (1.00 = 100n) of a decimal string from the API. */
export function minor(amount: string): bigint {
  const match = AMOUNT.exec(amount);
  if (match === null) {
    throw new Error(`not an amount: ${JSON.stringify(amount)}`);
  }
  const [, sign = "", units = "0", cents = ""] = match;
  const value = BigInt(units) * 100n + BigInt(cents.padEnd(2, "0"));
  return sign === "-" ? -value : value;
}

/** The canonical string the API answers with: two decimals, e.g. "7.50", "-20.00". */
export function format(value: bigint): string {
  const negative = value < 0n;
  const abs = negative ? -value : value;
  const cents = (abs % 100n).toString().padStart(2, "0");
  return `${negative ? "-" : ""}${abs / 100n}.${cents}`;
}

export function add(...amounts: string[]): string {
  return format(amounts.reduce((sum, amount) => sum + minor(amount), 0n));
}

export function sub(from: string, amount: string): string {
  return format(minor(from) - minor(amount));
}

export function times(amount: string, quantity: number): string {
  return format(minor(amount) * BigInt(quantity));
}

export function atLeast(amount: string, floor: string): boolean {
  return minor(amount) >= minor(floor);
}
