import { describe, expect, it } from 'vitest';
import { utf8Type } from '../../src/http/body-charset.js';

describe('utf8Type: the content type of a body a framework decoded, passed on as UTF-8 text', () => {
  it.each([
    ['application/json; charset=iso-8859-1', 'application/json; charset=utf-8'],
    ['application/json;CHARSET="UTF-16LE"', 'application/json; charset=utf-8'],
    ['application/json', 'application/json; charset=utf-8'],
    // Other parameters stay, a quoted value whole (its "charset" is no parameter).
    [
      'application/json; foo="a;charset=x"; charset=latin1',
      'application/json; foo="a;charset=x"; charset=utf-8',
    ],
  ])('%s -> %s', (type, expected) => {
    expect(utf8Type(type)).toBe(expected);
  });
});
