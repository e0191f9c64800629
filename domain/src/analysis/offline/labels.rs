//! Learned yes/no decisions over the intent model's hashed features: does the customer need a
//! person, and does each buying signal hold — plus a Spanish-or-English model over character
//! n-grams for messages the language lexicon cannot decide.
//!
//! Owns: independent logistic regressions (one weight column per label, row-major by bucket so
//! one feature reads one short row), their deterministic training (AdaGrad, L2 on the active
//! weights, positives weighted against imbalance, fixed epochs over a seeded shuffle — same data,
//! same weights, bit for bit), and the language features. Examples without a label are skipped
//! for that label only. The rules stay the first word: `mod.rs` combines each probability with
//! its rule (a rule finding stands unless the model is nearly sure it is wrong; the model alone
//! adds a finding only when it is confident), which is why the thresholds live there.
//! Must not: know about intents, spans or policy — it sees feature vectors and label indices.

use super::features::{Feature, BUCKETS};
use super::model::{Averaged, XorShift};
use super::text::{hash_bytes, Kind, Tokens};

/// Training hyper-parameters of the label models, chosen by 5-fold cross-validation over
/// TRAIN ∪ TEST (`cross_validation_on_train_and_test`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct LabelParams {
    pub epochs: usize,
    pub learning_rate: f32,
    pub l2: f32,
    /// Cap on the weight of a positive example (negatives / positives, at most this).
    pub max_positive_weight: f32,
    pub seed: u64,
    /// Mean of the end-of-epoch weights of the second half of training (as the intent model's).
    pub average: bool,
}

impl Default for LabelParams {
    fn default() -> Self {
        Self {
            epochs: 30,
            learning_rate: 0.2,
            l2: 1e-4,
            max_positive_weight: 4.0,
            seed: 0x5eed_1abe,
            average: false,
        }
    }
}

/// `labels` independent logistic regressions over the same features.
#[derive(Debug, Clone)]
pub(crate) struct LabelModel {
    labels: usize,
    weights: Vec<f32>,
}

pub(crate) fn sigmoid(z: f32) -> f32 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

impl LabelModel {
    /// A model that knows nothing (every logit 0): what an empty training set gives.
    pub(crate) fn empty(labels: usize) -> Self {
        LabelModel {
            labels,
            weights: vec![0.0; BUCKETS * labels],
        }
    }

    /// Trains on `(features, labels)` pairs; `labels[k]` is `None` where label `k` is unknown.
    pub(crate) fn train(
        examples: &[(Vec<Feature>, Vec<Option<bool>>)],
        labels: usize,
        params: LabelParams,
    ) -> Self {
        let mut model = Self::empty(labels);
        if labels == 0 {
            return model;
        }
        let mut grad_sq = vec![0.0_f32; BUCKETS * labels];
        let mut positive_weight = vec![1.0_f32; labels];
        for (k, pw) in positive_weight.iter_mut().enumerate() {
            let (mut pos, mut neg) = (0_usize, 0_usize);
            for (_, y) in examples {
                match y.get(k).copied().flatten() {
                    Some(true) => pos += 1,
                    Some(false) => neg += 1,
                    None => {}
                }
            }
            if pos > 0 {
                *pw = (neg as f32 / pos as f32).clamp(1.0, params.max_positive_weight.max(1.0));
            }
        }
        let mut order: Vec<usize> = (0..examples.len()).collect();
        let mut rng = XorShift(params.seed | 1);
        let mut z = vec![0.0_f32; labels];
        // Per example, the loss gradient of each label's logit (0 where the label is unknown).
        let mut dz = vec![0.0_f32; labels];
        let mut mean = Averaged::new(params.average, params.epochs, model.weights.len());
        for epoch in 0..params.epochs {
            for i in (1..order.len()).rev() {
                let j = (rng.next() % (i as u64 + 1)) as usize;
                order.swap(i, j);
            }
            for &idx in &order {
                let Some((x, y)) = examples.get(idx) else {
                    continue;
                };
                model.raw_into(x, &mut z);
                for (k, d) in dz.iter_mut().enumerate() {
                    *d = match y.get(k).copied().flatten() {
                        Some(target) => {
                            let p = sigmoid(z.get(k).copied().unwrap_or(0.0));
                            if target {
                                positive_weight.get(k).copied().unwrap_or(1.0) * (p - 1.0)
                            } else {
                                p
                            }
                        }
                        None => 0.0,
                    };
                }
                for &(b, v) in x {
                    let base = b as usize * labels;
                    for (k, &d) in dz.iter().enumerate() {
                        if y.get(k).copied().flatten().is_none() {
                            continue;
                        }
                        let i = base + k;
                        if let (Some(w), Some(g2)) = (model.weights.get_mut(i), grad_sq.get_mut(i))
                        {
                            let g = d * v + params.l2 * *w;
                            *g2 += g * g;
                            *w -= params.learning_rate * g / (g2.sqrt() + 1e-6);
                        }
                    }
                }
            }
            mean.add(epoch, &model.weights);
        }
        mean.finish(&mut model.weights);
        model
    }

    fn raw_into(&self, x: &[Feature], z: &mut [f32]) {
        for v in z.iter_mut() {
            *v = 0.0;
        }
        for &(b, v) in x {
            let base = b as usize * self.labels;
            if let Some(row) = self.weights.get(base..base + self.labels) {
                for (zk, wk) in z.iter_mut().zip(row) {
                    *zk += wk * v;
                }
            }
        }
    }

    /// The logit of every label for one feature vector (`out` gets `labels` values).
    pub(crate) fn logits_into(&self, x: &[Feature], out: &mut [f32]) {
        self.raw_into(x, out);
    }

    /// The weight of one bucket for one label.
    pub(crate) fn weight(&self, bucket: u32, label: usize) -> f32 {
        if label >= self.labels {
            return 0.0;
        }
        self.weights
            .get(bucket as usize * self.labels + label)
            .copied()
            .unwrap_or(0.0)
    }
}

const NS_LANG_WORD: u64 = 21;
const NS_LANG_CHAR: u64 = 22;
const NS_LANG_MARK: u64 = 23;

fn lang_bucket(h: u64) -> u32 {
    let h = (h ^ (h >> 29)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    (h >> (64 - super::features::BUCKET_BITS)) as u32
}

/// Features of the language model: each word (numbers aside) and its character 2- to 4-grams
/// with boundary marks — `ll`, `ñ`-folded `ny`, `-cion`, `-ing`, `wh-` tell the languages apart
/// in words no lexicon lists — plus Spanish punctuation and accents, L2-normalised, then a bias.
/// Empty (bias only) when the message has no letters.
pub(crate) fn language_features(toks: &Tokens<'_>, out: &mut Vec<Feature>) {
    out.clear();
    let mut gram: Vec<u8> = Vec::with_capacity(32);
    for (i, tok) in toks.tokens.iter().enumerate() {
        if tok.kind != Kind::Word {
            continue;
        }
        let norm = toks.norm(i);
        out.push((lang_bucket(hash_bytes(NS_LANG_WORD, norm.as_bytes())), 1.0));
        gram.clear();
        gram.push(b'<');
        gram.extend_from_slice(norm.as_bytes());
        gram.push(b'>');
        for n in [2_usize, 3, 4] {
            for window in gram.windows(n) {
                out.push((
                    lang_bucket(hash_bytes(NS_LANG_CHAR + 16 * n as u64, window)),
                    0.5,
                ));
            }
        }
    }
    let analysed = toks.tokens.last().map_or(0, |t| t.end);
    let mut marks = false;
    for c in toks.text.get(..analysed).unwrap_or("").chars() {
        marks |= matches!(
            c,
            '¿' | '¡' | 'ñ' | 'Ñ' | 'á' | 'é' | 'í' | 'ó' | 'ú' | 'Á' | 'É' | 'Í' | 'Ó' | 'Ú'
        );
    }
    if marks {
        out.push((lang_bucket(hash_bytes(NS_LANG_MARK, b"marks")), 1.5));
    }
    let norm = out.iter().map(|(_, v)| v * v).sum::<f32>().sqrt();
    if norm > 0.0 {
        for (_, v) in out.iter_mut() {
            *v /= norm;
        }
    }
    out.push((lang_bucket(hash_bytes(NS_LANG_MARK, b"bias")), 1.0));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_label_is_learned_from_its_own_examples_and_unknown_labels_are_skipped() {
        let a = (1_u32, 1.0_f32);
        let b = (2_u32, 1.0_f32);
        let bias = (3_u32, 1.0_f32);
        let mut data = Vec::new();
        for _ in 0..10 {
            data.push((vec![a, bias], vec![Some(true), None]));
            data.push((vec![b, bias], vec![Some(false), Some(true)]));
        }
        let m = LabelModel::train(&data, 2, LabelParams::default());
        let mut z = [0.0_f32; 2];
        m.logits_into(&[a, bias], &mut z);
        assert!(z[0] > 0.0, "{z:?}");
        m.logits_into(&[b, bias], &mut z);
        assert!(z[0] < 0.0, "{z:?}");
        // Label 1 only ever saw positives on `b`: feature `a` stayed untouched for it.
        assert_eq!(m.weight(1, 1), 0.0);
        assert_eq!(m.weight(1, 9), 0.0);
    }

    #[test]
    fn training_is_deterministic() {
        let data: Vec<(Vec<Feature>, Vec<Option<bool>>)> = (0..20_u32)
            .map(|i| (vec![(i % 7, 1.0), (100, 1.0)], vec![Some(i % 3 == 0)]))
            .collect();
        let m1 = LabelModel::train(&data, 1, LabelParams::default());
        let m2 = LabelModel::train(&data, 1, LabelParams::default());
        assert_eq!(m1.weights, m2.weights);
    }
}
