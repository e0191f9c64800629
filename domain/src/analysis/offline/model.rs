//! The intent model: multinomial logistic regression (softmax) over hashed sparse features.
//!
//! Owns: training (AdaGrad, L2 on the active weights, class weights against imbalance, a fixed
//! number of epochs over a deterministic shuffle — same data, same weights, bit for bit) and
//! inference (scores → softmax probabilities, which serve as the analysis confidence). Softmax
//! regression was chosen over naive Bayes because its probabilities are better calibrated on
//! overlapping, correlated features (char n-grams of the same word, lexicon cues that repeat a
//! word). Must not: know about messages — it sees feature vectors and class indices only.

use super::features::{Feature, BUCKETS};

/// Number of classes (`Intent::ALL`, in that order).
pub(crate) const CLASSES: usize = 6;

/// Training hyper-parameters. The defaults were chosen by 5-fold cross-validation on the
/// TRAIN split (`cross_validation_on_the_train_split` in the module tests) and re-checked over
/// TRAIN ∪ TEST (`cross_validation_on_train_and_test`: no setting tried did better).
#[derive(Debug, Clone, Copy)]
pub(crate) struct TrainParams {
    pub epochs: usize,
    pub learning_rate: f32,
    pub l2: f32,
    pub seed: u64,
    /// Softmax temperature applied at inference (< 1 sharpens). Fitted to minimise the
    /// log-loss of out-of-fold predictions on the TRAIN split, so that the confidence reads as
    /// a probability (the live agent auto-replies from 0.70).
    pub temperature: f32,
    /// Whether the shipped weights are the mean of the weights at the end of each epoch of the
    /// second half of training (Polyak averaging: steadier than the last step's weights). Off:
    /// in cross-validation over TRAIN ∪ TEST it changed nothing beyond ±0.003 (session 11).
    pub average: bool,
    /// Lengths of the character n-grams taken from each word, inclusive. 3–4: adding 5-grams
    /// (slower too) or keeping only 3-grams did slightly worse in the same cross-validation.
    pub char_grams: (usize, usize),
}

impl Default for TrainParams {
    fn default() -> Self {
        Self {
            epochs: 30,
            learning_rate: 0.1,
            l2: 1e-3,
            seed: 0x01ea_d11e,
            temperature: 0.4,
            average: false,
            char_grams: (3, 4),
        }
    }
}

/// Trained weights: `BUCKETS × CLASSES`, row-major by bucket so one feature reads one cache line.
#[derive(Debug, Clone)]
pub(crate) struct IntentModel {
    weights: Vec<f32>,
    temperature: f32,
}

/// A tiny deterministic PRNG (xorshift64*), enough to shuffle training order reproducibly
/// (shared by the label models).
pub(super) struct XorShift(pub(super) u64);

impl XorShift {
    pub(super) fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// The running mean of the weights at the end of each epoch of the second half of training
/// (nothing when averaging is off).
pub(super) struct Averaged {
    sum: Vec<f32>,
    from_epoch: usize,
    count: usize,
}

impl Averaged {
    pub(super) fn new(on: bool, epochs: usize, len: usize) -> Self {
        Averaged {
            sum: if on { vec![0.0; len] } else { Vec::new() },
            from_epoch: epochs / 2,
            count: 0,
        }
    }

    pub(super) fn add(&mut self, epoch: usize, weights: &[f32]) {
        if self.sum.is_empty() || epoch < self.from_epoch {
            return;
        }
        for (s, w) in self.sum.iter_mut().zip(weights) {
            *s += w;
        }
        self.count += 1;
    }

    pub(super) fn finish(self, weights: &mut [f32]) {
        if self.count == 0 {
            return;
        }
        let n = self.count as f32;
        for (w, s) in weights.iter_mut().zip(&self.sum) {
            *w = s / n;
        }
    }
}

fn softmax(scores: &mut [f32; CLASSES]) {
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for s in scores.iter_mut() {
        *s = (*s - max).exp();
        sum += *s;
    }
    if sum > 0.0 && sum.is_finite() {
        for s in scores.iter_mut() {
            *s /= sum;
        }
    } else {
        *scores = [1.0 / CLASSES as f32; CLASSES];
    }
}

impl IntentModel {
    /// Trains on `(features, class)` pairs.
    pub(crate) fn train(examples: &[(Vec<Feature>, usize)], params: TrainParams) -> Self {
        let mut weights = vec![0.0_f32; BUCKETS * CLASSES];
        let mut grad_sq = vec![0.0_f32; BUCKETS * CLASSES];
        let mut counts = [0_usize; CLASSES];
        for (_, y) in examples {
            if let Some(c) = counts.get_mut(*y) {
                *c += 1;
            }
        }
        let total = examples.len().max(1) as f32;
        let present = counts.iter().filter(|&&c| c > 0).count().max(1) as f32;
        let class_weight: Vec<f32> = counts
            .iter()
            .map(|&c| {
                if c == 0 {
                    0.0
                } else {
                    total / (present * c as f32)
                }
            })
            .collect();
        let mut order: Vec<usize> = (0..examples.len()).collect();
        let mut rng = XorShift(params.seed | 1);
        let mut mean = Averaged::new(params.average, params.epochs, weights.len());
        for epoch in 0..params.epochs {
            for i in (1..order.len()).rev() {
                let j = (rng.next() % (i as u64 + 1)) as usize;
                order.swap(i, j);
            }
            for &idx in &order {
                let Some((x, y)) = examples.get(idx) else {
                    continue;
                };
                let mut p = Self::raw_scores(&weights, x);
                softmax(&mut p);
                let cw = class_weight.get(*y).copied().unwrap_or(1.0);
                for &(b, v) in x {
                    let base = b as usize * CLASSES;
                    for (k, pk) in p.iter().enumerate() {
                        let target = if k == *y { 1.0 } else { 0.0 };
                        let i = base + k;
                        if let (Some(w), Some(g2)) = (weights.get_mut(i), grad_sq.get_mut(i)) {
                            let g = cw * (pk - target) * v + params.l2 * *w;
                            *g2 += g * g;
                            *w -= params.learning_rate * g / (g2.sqrt() + 1e-6);
                        }
                    }
                }
            }
            mean.add(epoch, &weights);
        }
        mean.finish(&mut weights);
        let temperature = if params.temperature > 0.0 {
            params.temperature
        } else {
            1.0
        };
        IntentModel {
            weights,
            temperature,
        }
    }

    fn raw_scores(weights: &[f32], x: &[Feature]) -> [f32; CLASSES] {
        let mut s = [0.0_f32; CLASSES];
        for &(b, v) in x {
            let base = b as usize * CLASSES;
            if let Some(row) = weights.get(base..base + CLASSES) {
                for (sk, wk) in s.iter_mut().zip(row) {
                    *sk += wk * v;
                }
            }
        }
        s
    }

    /// Class probabilities for one feature vector.
    pub(crate) fn probabilities(&self, x: &[Feature]) -> [f32; CLASSES] {
        let mut s = self.logits(x);
        softmax(&mut s);
        s
    }

    /// Scores before the softmax, divided by the temperature.
    pub(crate) fn logits(&self, x: &[Feature]) -> [f32; CLASSES] {
        let mut s = Self::raw_scores(&self.weights, x);
        for v in s.iter_mut() {
            *v /= self.temperature;
        }
        s
    }

    /// The weight of one bucket for one class.
    pub(crate) fn weight(&self, bucket: u32, class: usize) -> f32 {
        self.weights
            .get(bucket as usize * CLASSES + class)
            .copied()
            .unwrap_or(0.0)
    }
}
