//! Letter folding shared by the analysis modules: one accent-free spelling of the Latin letters
//! of English and Spanish.
//!
//! A leaf on purpose: it imports nothing of this crate, so `eval` (catalog slugs), `offline`
//! (its tokenizer) and `escalation` (keyword matching) can all use it without depending on each
//! other. Must not: grow into a tokenizer — that is `offline::text`.

/// Folds the accented Latin letters of English and Spanish (and a few neighbours) to ASCII.
pub(crate) fn fold_letter(c: char) -> char {
    match c {
        'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' | 'ā' => 'a',
        'é' | 'è' | 'ê' | 'ë' | 'ē' => 'e',
        'í' | 'ì' | 'î' | 'ï' | 'ī' => 'i',
        'ó' | 'ò' | 'ô' | 'ö' | 'õ' | 'ø' | 'ō' => 'o',
        'ú' | 'ù' | 'û' | 'ü' | 'ū' => 'u',
        'ñ' => 'n',
        'ç' => 'c',
        'ý' | 'ÿ' => 'y',
        _ => c,
    }
}
