// Folding text for matching without diacritics: the directory's search, the meeting page's
// list of people. Its own module so that a page can search without loading the directory.

/**
 * Folds a string for matching: lower case, no diacritics (đ/Đ → d), punctuation → spaces,
 * runs of spaces collapsed. fold('Huyện Đại Từ') === 'huyen dai tu'.
 */
export function fold(s) {
  return String(s ?? '')
    .toLowerCase()
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/đ/g, 'd')
    .replace(/[^a-z0-9]+/g, ' ')
    .trim();
}
