import { describe, expect, it } from 'vitest';
import { cleanDeviceText, describeDevice, MAX_DEVICE_TEXT } from './device-names.js';

/** What Node's HTTP parser hands over for a header a client sent as UTF-8: one char per byte. */
const asLatin1 = (text: string): string => Buffer.from(text, 'utf8').toString('latin1');

describe('describeDevice', () => {
  it('names the device after X-Device-Model, with the User-Agent as details', () => {
    expect(describeDevice({ 'x-device-model': 'Pixel 8', 'user-agent': 'okhttp/4.12' })).toEqual({ name: 'Pixel 8', details: 'okhttp/4.12' });
    expect(describeDevice({ 'x-device-model': 'Pixel 8' })).toEqual({ name: 'Pixel 8', details: '' });
  });

  it('names the device after the User-Agent, with empty details, without X-Device-Model', () => {
    expect(describeDevice({ 'user-agent': 'curl/8.5' })).toEqual({ name: 'curl/8.5', details: '' });
    expect(describeDevice({ 'x-device-model': '', 'user-agent': 'curl/8.5' })).toEqual({ name: 'curl/8.5', details: '' });
    expect(describeDevice({ 'x-device-model': '   ', 'user-agent': 'curl/8.5' })).toEqual({ name: 'curl/8.5', details: '' });
  });

  it('gives empty strings when neither header is there', () => {
    expect(describeDevice({})).toEqual({ name: '', details: '' });
    expect(describeDevice(undefined)).toEqual({ name: '', details: '' });
  });

  it('cuts both to exactly 255 characters, by code point (never splitting an emoji)', () => {
    const model = '📱'.repeat(300);
    const agent = `a${'😀'.repeat(400)}`;
    const { name, details } = describeDevice({ 'x-device-model': model, 'user-agent': agent });
    expect(Array.from(name)).toHaveLength(MAX_DEVICE_TEXT);
    expect(name).toBe('📱'.repeat(255));
    expect(Array.from(details)).toHaveLength(MAX_DEVICE_TEXT);
    expect(details).toBe(`a${'😀'.repeat(254)}`);
    expect(details).not.toMatch(/[\ud800-\udbff]$/);
  });

  it('cuts the same emoji to 255 code points when they arrive as UTF-8 bytes', () => {
    const { name } = describeDevice({ 'user-agent': asLatin1(`${'x'.repeat(200)}${'📱'.repeat(100)}`) });
    expect(name).toBe(`${'x'.repeat(200)}${'📱'.repeat(55)}`);
    expect(Array.from(name)).toHaveLength(255);
  });

  it('cuts long ASCII to 255 characters and keeps short values whole', () => {
    expect(describeDevice({ 'x-device-model': 'm'.repeat(10_000) }).name).toBe('m'.repeat(255));
    expect(describeDevice({ 'x-device-model': 'm'.repeat(255) }).name).toBe('m'.repeat(255));
    expect(describeDevice({ 'x-device-model': 'm'.repeat(254) }).name).toBe('m'.repeat(254));
  });

  it('decodes UTF-8 bytes that Node hands over as latin1', () => {
    expect(describeDevice({ 'x-device-model': asLatin1('Galaxy Café 📱'), 'user-agent': asLatin1('Приложение/1.0') })).toEqual({
      name: 'Galaxy Café 📱',
      details: 'Приложение/1.0',
    });
  });

  it('takes a string that is already wider than latin1 as it is', () => {
    expect(describeDevice({ 'x-device-model': 'Café 📱' }).name).toBe('Café 📱');
  });

  it('removes control characters', () => {
    const dirty = 'Pix\u0000el\u0001 \u0007\u0008\u000a\u000b\u000c\u000d\u001b[31m8\u007f';
    expect(describeDevice({ 'x-device-model': dirty, 'user-agent': `ua\r\n${dirty}` })).toEqual({ name: 'Pixel [31m8', details: 'uaPixel [31m8' });
  });

  it('removes C1 control characters too (sent as UTF-8, e.g. NEL U+0085, CSI U+009B)', () => {
    const { name } = describeDevice({ 'x-device-model': asLatin1('Pix\u0085el\u009b8\u0080\u009f') });
    expect(name).toBe('Pixel8');
    expect(name).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
  });

  it('leaves no C0 control character or DEL in what it returns, whatever the input', () => {
    const all = Array.from({ length: 0x80 }, (_, code) => String.fromCharCode(code)).join('');
    for (const headers of [{ 'x-device-model': `m${all}`, 'user-agent': `u${all}` }, { 'user-agent': asLatin1(`u${all}`) }]) {
      const { name, details } = describeDevice(headers);
      // Tab is whitespace, not a line-breaking or terminal control; everything else must go.
      expect(name.replace(/\t/g, '')).not.toMatch(/[\u0000-\u001f\u007f]/);
      expect(details.replace(/\t/g, '')).not.toMatch(/[\u0000-\u001f\u007f]/);
      expect(name.startsWith('m') || name.startsWith('u')).toBe(true);
    }
  });

  it('joins a repeated header rather than dropping it', () => {
    expect(describeDevice({ 'user-agent': ['a', 'b'] })).toEqual({ name: 'a, b', details: '' });
  });
});

describe('cleanDeviceText', () => {
  it('keeps ordinary text, unicode and emoji as they are', () => {
    expect(cleanDeviceText('Pixel 8 — Café 📱')).toBe('Pixel 8 — Café 📱');
  });

  it('trims surrounding whitespace, after dropping invisible characters', () => {
    expect(cleanDeviceText('  Pixel 8 \n')).toBe('Pixel 8');
    expect(cleanDeviceText('\u200b  Pixel\u200b 8  \ufeff')).toBe('Pixel 8');
    expect(cleanDeviceText(' \t ')).toBe('');
  });

  it.each([
    ['zero-width space U+200B', '\u200b'],
    ['zero-width joiner U+200D', '\u200d'],
    ['left-to-right mark U+200E', '\u200e'],
    ['right-to-left mark U+200F', '\u200f'],
    ['LRE U+202A', '\u202a'],
    ['RLO U+202E', '\u202e'],
    ['word joiner U+2060', '\u2060'],
    ['RLI U+2067', '\u2067'],
    ['PDI U+2069', '\u2069'],
    ['BOM U+FEFF', '\ufeff'],
    ['NUL', '\u0000'],
    ['ESC', '\u001b'],
    ['DEL', '\u007f'],
    ['NEL U+0085', '\u0085'],
    ['CSI U+009B', '\u009b'],
  ])('drops %s', (_label, char) => {
    expect(cleanDeviceText(`ab${char}c${char}`)).toBe('abc');
  });

  it('keeps a bidirectional override from reordering a name ("gpj.exe" shown as "exe.jpg")', () => {
    expect(cleanDeviceText('photo\u202egpj.exe')).toBe('photogpj.exe');
  });

  it('cuts to 255 code points, never splitting a surrogate pair', () => {
    expect(cleanDeviceText('x'.repeat(256))).toBe('x'.repeat(MAX_DEVICE_TEXT));
    const cut = cleanDeviceText(`x${'😀'.repeat(300)}`);
    expect(Array.from(cut)).toHaveLength(MAX_DEVICE_TEXT);
    expect(cut).not.toMatch(/[\ud800-\udbff]$/);
  });

  it('counts the length after dropping invisible characters, so they cannot push text out', () => {
    expect(cleanDeviceText(`${'\u200b'.repeat(1_000)}${'n'.repeat(MAX_DEVICE_TEXT)}`)).toBe('n'.repeat(MAX_DEVICE_TEXT));
  });
});

describe('header bytes that are not UTF-8, and invisible characters (security round 2)', () => {
  it('reads Latin-1 bytes (what browsers, fetch and requests send for "Ünïcødé") as Latin-1, and UTF-8 bytes as UTF-8', () => {
    // Node hands each byte over as one char: Latin-1 bytes arrive as the text itself.
    expect(describeDevice({ 'x-device-model': 'Ünïcødé' }).name).toBe('Ünïcødé');
    expect(describeDevice({ 'x-device-model': asLatin1('Ünïcødé') }).name).toBe('Ünïcødé');
    expect(describeDevice({ 'user-agent': 'Caf\u00e9 \u00ff' }).name).toBe('Café ÿ');
  });

  it.each([
    ['line separator', '\u2028'],
    ['paragraph separator', '\u2029'],
    ['Hangul filler', '\u3164'],
    ['halfwidth Hangul filler', '\uffa0'],
    ['soft hyphen', '\u00ad'],
    ['Arabic letter mark', '\u061c'],
    ['combining grapheme joiner', '\u034f'],
    ['Mongolian vowel separator', '\u180e'],
    ['invisible times', '\u2062'],
    ['tag character', '\u{e0041}'],
  ])('drops the %s', (_label, character) => {
    expect(describeDevice({ 'x-device-model': asLatin1(`Pi${character}xel`) }).name).toBe('Pixel');
    expect(cleanDeviceText(`Pi${character}xel`)).toBe('Pixel');
  });
});
