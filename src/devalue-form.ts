/**
 * The check that a parsed devalue form refers only to values it holds, before
 * devalue's `unflatten` reads it. `unflatten` reads a reference that is out of
 * range, fractional or a sentinel out of place (`-9`, `1.5`, a hole's `-2` in
 * an object) as `undefined`: a hand-edited or damaged record would load with
 * a value silently changed instead of being set aside as corrupt.
 */

// devalue's sentinels (devalue/src/constants.js): references that stand for a
// value instead of naming an entry. HOLE is one only among an array's items.
const UNDEFINED = -1;
const HOLE = -2;
const NEGATIVE_ZERO = -6;
const SPARSE = -7;

/** Whether `ref` names an entry of a form of `length` entries, or a value sentinel. */
function isReference(ref: unknown, length: number): boolean {
  return (
    typeof ref === 'number' &&
    Number.isInteger(ref) &&
    (ref >= 0 ? ref < length : ref <= UNDEFINED && ref >= NEGATIVE_ZERO && ref !== HOLE)
  );
}

/** The positions of `entry` (a tagged array) that hold references, by its tag. */
function referencesOf(entry: unknown[]): number[] {
  const positions: number[] = [];
  switch (entry[0]) {
    case 'Set':
    case 'Map':
      for (let i = 1; i < entry.length; i++) positions.push(i);
      break;
    case 'null':
      for (let i = 2; i < entry.length; i += 2) positions.push(i);
      break;
    case 'Object':
      positions.push(1);
      break;
    case 'Error':
      // The registry's reviver: its payload is a reference when it is a number.
      if (typeof entry[1] === 'number') positions.push(1);
      break;
    // The other tags hold values, not references, or a reference devalue
    // checks itself (a typed array's buffer).
  }
  return positions;
}

/**
 * Throws a plain `Error` naming the first entry of `form` (devalue's flat
 * array) that refers to no value; returns when every reference is sound.
 *
 * @example
 * ```ts
 * checkDevalueForm([{ n: 1 }, 5]); // returns
 * checkDevalueForm([{ n: 1.5 }, 5]); // throws: entry 0 refers to 1.5
 * ```
 */
export function checkDevalueForm(form: readonly unknown[]): void {
  const length = form.length;
  const bad = (index: number, ref: unknown): never => {
    throw new Error(
      `the encoded state's entry ${index} refers to ${JSON.stringify(ref) ?? String(ref)}, which names no value`,
    );
  };
  for (let index = 0; index < length; index++) {
    const entry = form[index];
    if (!entry || typeof entry !== 'object') continue;
    if (!Array.isArray(entry)) {
      for (const key of Object.keys(entry)) {
        const ref = (entry as Record<string, unknown>)[key];
        if (!isReference(ref, length)) bad(index, ref);
      }
    } else if (typeof entry[0] === 'string') {
      for (const i of referencesOf(entry)) if (!isReference(entry[i], length)) bad(index, entry[i]);
    } else if (entry[0] === SPARSE) {
      for (let i = 3; i < entry.length; i += 2)
        if (!isReference(entry[i], length)) bad(index, entry[i]);
    } else {
      for (const ref of entry) if (ref !== HOLE && !isReference(ref, length)) bad(index, ref);
    }
  }
}
