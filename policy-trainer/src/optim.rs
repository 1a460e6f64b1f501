//! AdamW fused over the parameter buffers, with linear warm-up and global-norm clipping,
//! behind candle's [`Optimizer`] trait.
//!
//! `candle_nn::AdamW` runs a dozen tensor ops per parameter (each allocating) and has neither
//! clipping nor a schedule; here each parameter is updated in one pass over plain `f32`
//! slices.
//!
//! # Why the trait sits on top of an accumulation helper
//!
//! [`Optimizer::step`] takes one [`GradStore`], the result of one `backward()`. A GRPO step
//! sums the gradients of several micro-batches before one update, and a `GradStore` cannot be
//! built empty outside candle (`GradStore::new` is private), so summing into one would mean
//! keeping the first micro-batch's store alive with the gradient of every activation in its
//! graph, and a tensor add per parameter per micro-batch on top. So the trainer keeps what it
//! did before: [`accumulate`] copies each micro-batch's parameter gradients to host buffers and
//! adds them in place, and [`AdamW::step_accumulated`] applies the sum. The trait's `step` is
//! the one-micro-batch case of the same path (accumulate one store, apply it), so code written
//! against `candle_nn::Optimizer` (`backward_step`, a plain training loop) gets the same
//! update, warm-up and clipping included.

use std::collections::BTreeMap;

use candle_core::backprop::GradStore;
use candle_core::{Result, Tensor, Var};
use candle_nn::Optimizer;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AdamWConfig {
    pub lr: f64,
    #[serde(default = "d_beta1")]
    pub beta1: f64,
    #[serde(default = "d_beta2")]
    pub beta2: f64,
    #[serde(default = "d_eps")]
    pub eps: f64,
    #[serde(default)]
    pub weight_decay: f64,
    #[serde(default)]
    pub warmup_steps: usize,
    /// Global gradient-norm clip; 0 disables.
    #[serde(default = "d_clip")]
    pub max_grad_norm: f64,
}
impl AdamWConfig {
    /// The defaults a config file gets (β 0.9/0.99, ε 1e-8, no decay, no warm-up, clip at 1)
    /// with learning rate `lr`.
    pub fn with_lr(lr: f64) -> Self {
        Self {
            lr,
            beta1: d_beta1(),
            beta2: d_beta2(),
            eps: d_eps(),
            weight_decay: 0.0,
            warmup_steps: 0,
            max_grad_norm: d_clip(),
        }
    }
}

fn d_beta1() -> f64 {
    0.9
}
fn d_beta2() -> f64 {
    0.99
}
fn d_eps() -> f64 {
    1e-8
}
fn d_clip() -> f64 {
    1.0
}

/// Gradients summed over micro-batches, one flat host buffer per parameter name.
pub type HostGrads = BTreeMap<String, Vec<f32>>;

/// What a resumed optimiser needs: the update count (it drives warm-up and bias correction)
/// and both moments per parameter name. A checkpoint stores exactly this.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AdamState {
    /// Number of updates applied so far.
    pub t: u64,
    pub m: BTreeMap<String, Vec<f32>>,
    pub v: BTreeMap<String, Vec<f32>>,
}

pub struct AdamW {
    cfg: AdamWConfig,
    /// The parameters it updates, by name: names key the moments, so a checkpoint's moments
    /// find their parameter whatever order the vars come in.
    vars: BTreeMap<String, Var>,
    state: AdamState,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepStats {
    /// The global norm before clipping.
    pub grad_norm: f64,
    /// The learning rate this update used (after warm-up).
    pub lr: f64,
}

impl AdamW {
    /// An optimiser over named parameters (the trainer's `Params::vars`). The trait's
    /// [`Optimizer::new`] takes unnamed vars and names them by position instead.
    pub fn named(vars: &BTreeMap<String, Var>, cfg: AdamWConfig) -> Self {
        Self {
            cfg,
            vars: vars.clone(),
            state: AdamState::default(),
        }
    }

    pub fn config(&self) -> &AdamWConfig {
        &self.cfg
    }

    pub fn vars(&self) -> &BTreeMap<String, Var> {
        &self.vars
    }

    pub fn state(&self) -> &AdamState {
        &self.state
    }

    /// Continues from a saved state (a checkpoint's moments and update count).
    pub fn restore(&mut self, state: AdamState) {
        self.state = state;
    }

    /// The learning rate of update number `t` (0-based): linear warm-up to the configured rate.
    pub fn lr_at(&self, t: u64) -> f64 {
        let w = self.cfg.warmup_steps as u64;
        if w > 0 && t < w {
            self.cfg.lr * (t + 1) as f64 / w as f64
        } else {
            self.cfg.lr
        }
    }

    /// The learning rate the next update will use.
    pub fn next_lr(&self) -> f64 {
        self.lr_at(self.state.t)
    }

    /// Applies one update from `grads` (summed over micro-batches by [`accumulate`]). A
    /// parameter without a gradient is left as it is, moments included.
    pub fn step_accumulated(&mut self, grads: &HostGrads) -> Result<StepStats> {
        let sq: f64 = grads
            .values()
            .map(|g| g.iter().map(|x| (*x as f64) * (*x as f64)).sum::<f64>())
            .sum();
        let grad_norm = sq.sqrt();
        let clip = if self.cfg.max_grad_norm > 0.0 && grad_norm > self.cfg.max_grad_norm {
            (self.cfg.max_grad_norm / (grad_norm + 1e-6)) as f32
        } else {
            1.0
        };
        let lr = self.next_lr();
        let st = &mut self.state;
        st.t += 1;
        let (b1, b2) = (self.cfg.beta1 as f32, self.cfg.beta2 as f32);
        let bc1 = 1.0 - self.cfg.beta1.powi(st.t as i32);
        let bc2 = 1.0 - self.cfg.beta2.powi(st.t as i32);
        let step_size = (lr / bc1) as f32;
        let bc2_sqrt = bc2.sqrt() as f32;
        let (eps, decay) = (self.cfg.eps as f32, (lr * self.cfg.weight_decay) as f32);
        for (name, var) in &self.vars {
            let Some(g) = grads.get(name) else { continue };
            let shape = var.shape().clone();
            let mut w = var.as_tensor().flatten_all()?.to_vec1::<f32>()?;
            let m = st.m.entry(name.clone()).or_insert_with(|| vec![0.0; w.len()]);
            let v = st.v.entry(name.clone()).or_insert_with(|| vec![0.0; w.len()]);
            for i in 0..w.len() {
                let gi = g[i] * clip;
                m[i] = b1 * m[i] + (1.0 - b1) * gi;
                v[i] = b2 * v[i] + (1.0 - b2) * gi * gi;
                w[i] -= decay * w[i] + step_size * m[i] / (v[i].sqrt() / bc2_sqrt + eps);
            }
            var.set(&Tensor::from_vec(w, shape, var.device())?)?;
        }
        Ok(StepStats { grad_norm, lr })
    }
}

impl Optimizer for AdamW {
    type Config = AdamWConfig;

    /// Names the vars `"0"`, `"1"`, … by position (the moments need a key); integer vars are
    /// dropped, as candle's own optimisers do, since they have no gradient.
    fn new(vars: Vec<Var>, cfg: AdamWConfig) -> Result<Self> {
        let vars = vars
            .into_iter()
            .filter(|v| v.dtype().is_float())
            .enumerate()
            .map(|(i, v)| (i.to_string(), v))
            .collect();
        Ok(Self::named(&vars, cfg))
    }

    /// One micro-batch's gradients as one update: the accumulation path with a single store
    /// (see the module comment). The step's statistics are dropped, as the trait returns none;
    /// call [`AdamW::step_accumulated`] to get them.
    fn step(&mut self, grads: &GradStore) -> Result<()> {
        let mut acc = HostGrads::new();
        accumulate(&mut acc, &self.vars, grads)?;
        self.step_accumulated(&acc).map(|_| ())
    }

    /// The configured (peak) rate; warm-up scales it, and [`AdamW::next_lr`] is what the next
    /// update applies.
    fn learning_rate(&self) -> f64 {
        self.cfg.lr
    }

    fn set_learning_rate(&mut self, lr: f64) {
        self.cfg.lr = lr;
    }
}

/// Adds the gradients of `vars` in `store` into `acc` as flat `f32` buffers.
pub fn accumulate(acc: &mut HostGrads, vars: &BTreeMap<String, Var>, store: &GradStore) -> Result<()> {
    for (name, var) in vars {
        let Some(g) = store.get(var.as_tensor()) else {
            continue;
        };
        let g = g
            .flatten_all()?
            .to_vec1::<f32>()
            .map_err(|e| e.context("gradient to host"))?;
        match acc.get_mut(name) {
            Some(a) => a.iter_mut().zip(&g).for_each(|(a, g)| *a += g),
            None => {
                acc.insert(name.clone(), g);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use candle_core::{DType, Device};

    use super::*;

    fn var(values: &[f32]) -> Var {
        Var::new(values, &Device::Cpu).unwrap()
    }

    fn values(v: &Var) -> Vec<f32> {
        v.as_tensor().to_vec1::<f32>().unwrap()
    }

    fn named(pairs: &[(&str, &Var)]) -> BTreeMap<String, Var> {
        pairs.iter().map(|(k, v)| (k.to_string(), (*v).clone())).collect()
    }

    #[test]
    fn warm_up_rises_linearly_to_the_configured_rate() {
        let opt = AdamW::named(
            &BTreeMap::new(),
            AdamWConfig {
                warmup_steps: 4,
                ..AdamWConfig::with_lr(0.4)
            },
        );
        for (t, want) in [0.1, 0.2, 0.3, 0.4, 0.4, 0.4].into_iter().enumerate() {
            assert!((opt.lr_at(t as u64) - want).abs() < 1e-12, "update {t}");
        }
        assert_eq!(opt.next_lr(), opt.lr_at(0));
    }

    #[test]
    fn the_first_update_moves_each_weight_by_the_learning_rate_against_its_gradient() {
        // With bias correction, m̂ = g and √v̂ = |g| after one update: the step is lr · sign(g).
        let w = var(&[1.0, 2.0]);
        let mut opt = AdamW::named(
            &named(&[("w", &w)]),
            AdamWConfig {
                max_grad_norm: 0.0,
                ..AdamWConfig::with_lr(0.1)
            },
        );
        let s = opt
            .step_accumulated(&HostGrads::from([("w".to_owned(), vec![0.5, -3.0])]))
            .unwrap();
        let got = values(&w);
        assert!(
            (got[0] - 0.9).abs() < 1e-5 && (got[1] - 2.1).abs() < 1e-5,
            "{got:?}"
        );
        assert_eq!(s.lr, 0.1);
        assert!((s.grad_norm - 9.25f64.sqrt()).abs() < 1e-9);
        assert_eq!(opt.state().t, 1);
        assert_eq!(opt.state().m["w"].len(), 2);
    }

    #[test]
    fn clipping_scales_the_gradient_to_the_maximum_global_norm() {
        // Norm 5 clipped to 1: the first moment holds (1 − β1) · g / 5.
        let (a, b) = (var(&[0.0]), var(&[0.0]));
        let mut opt = AdamW::named(&named(&[("a", &a), ("b", &b)]), AdamWConfig::with_lr(0.1));
        let grads = HostGrads::from([("a".to_owned(), vec![3.0]), ("b".to_owned(), vec![4.0])]);
        let s = opt.step_accumulated(&grads).unwrap();
        assert_eq!(s.grad_norm, 5.0);
        let m = &opt.state().m;
        assert!((m["a"][0] - 0.1 * 3.0 / 5.0).abs() < 1e-5, "{m:?}");
        assert!((m["b"][0] - 0.1 * 4.0 / 5.0).abs() < 1e-5, "{m:?}");
    }

    #[test]
    fn a_parameter_without_a_gradient_is_left_alone() {
        let (a, b) = (var(&[1.0]), var(&[1.0]));
        let mut opt = AdamW::named(&named(&[("a", &a), ("b", &b)]), AdamWConfig::with_lr(0.1));
        opt.step_accumulated(&HostGrads::from([("a".to_owned(), vec![1.0])]))
            .unwrap();
        assert_ne!(values(&a), vec![1.0]);
        assert_eq!(values(&b), vec![1.0]);
        assert!(!opt.state().m.contains_key("b"));
    }

    #[test]
    fn accumulation_sums_the_gradients_of_several_backward_passes() {
        let w = var(&[1.0, 2.0]);
        let vars = named(&[("w", &w)]);
        let mut acc = HostGrads::new();
        for k in [1.0, 2.0] {
            // d/dw of k · Σ w² is 2kw.
            let loss = ((w.as_tensor().sqr().unwrap().sum_all().unwrap()) * k).unwrap();
            accumulate(&mut acc, &vars, &loss.backward().unwrap()).unwrap();
        }
        assert_eq!(acc["w"], vec![6.0, 12.0]);
    }

    #[test]
    fn the_trait_step_is_the_accumulated_step_of_one_backward_pass() {
        let cfg = AdamWConfig {
            warmup_steps: 2,
            ..AdamWConfig::with_lr(0.05)
        };
        let (w1, w2) = (var(&[0.5, -1.0, 2.0]), var(&[0.5, -1.0, 2.0]));
        let loss = |w: &Var| (w.as_tensor().sqr().unwrap().sum_all().unwrap() * 3.0).unwrap();

        let mut by_trait = <AdamW as Optimizer>::new(vec![w1.clone()], cfg.clone()).unwrap();
        let vars = named(&[("w", &w2)]);
        let mut by_hand = AdamW::named(&vars, cfg);
        for _ in 0..3 {
            by_trait.backward_step(&loss(&w1)).unwrap();
            let mut acc = HostGrads::new();
            accumulate(&mut acc, &vars, &loss(&w2).backward().unwrap()).unwrap();
            by_hand.step_accumulated(&acc).unwrap();
        }
        assert_eq!(values(&w1), values(&w2));
        assert_eq!(by_trait.state().t, 3);
        assert_eq!(by_trait.state().m["0"], by_hand.state().m["w"]);
    }

    #[test]
    fn the_trait_names_vars_by_position_and_skips_integer_ones() {
        let ints = Var::zeros(2, DType::U32, &Device::Cpu).unwrap();
        let (a, b) = (var(&[1.0]), var(&[2.0]));
        let mut opt = <AdamW as Optimizer>::new(vec![a, ints, b], AdamWConfig::with_lr(1e-3)).unwrap();
        assert_eq!(opt.vars().keys().collect::<Vec<_>>(), vec!["0", "1"]);
        assert_eq!(values(&opt.vars()["1"]), vec![2.0]);
        opt.set_learning_rate(0.5);
        assert_eq!(opt.learning_rate(), 0.5);
        assert_eq!(opt.config().lr, 0.5);
    }
}
