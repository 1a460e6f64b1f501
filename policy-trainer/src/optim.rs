//! AdamW fused over the parameter buffers, with linear warm-up and global-norm clipping.
//!
//! `candle_nn::AdamW` runs a dozen tensor ops per parameter (each allocating) and has neither
//! clipping nor a schedule; here each parameter is updated in one pass over plain `f32`
//! slices.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use candle_core::backprop::GradStore;
use candle_core::{Tensor, Var};
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

pub struct AdamW {
    pub cfg: AdamWConfig,
    /// Number of updates applied so far.
    pub t: u64,
    pub m: BTreeMap<String, Vec<f32>>,
    pub v: BTreeMap<String, Vec<f32>>,
}

pub struct StepStats {
    pub grad_norm: f64,
    pub lr: f64,
}

impl AdamW {
    pub fn new(cfg: AdamWConfig) -> Self {
        Self {
            cfg,
            t: 0,
            m: BTreeMap::new(),
            v: BTreeMap::new(),
        }
    }

    pub fn lr_at(&self, t: u64) -> f64 {
        let w = self.cfg.warmup_steps as u64;
        if w > 0 && t < w {
            self.cfg.lr * (t + 1) as f64 / w as f64
        } else {
            self.cfg.lr
        }
    }

    /// Applies one update from `grads` (summed over micro-batches by the caller).
    pub fn step(
        &mut self,
        vars: &BTreeMap<String, Var>,
        grads: &BTreeMap<String, Vec<f32>>,
    ) -> Result<StepStats> {
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
        let lr = self.lr_at(self.t);
        self.t += 1;
        let (b1, b2) = (self.cfg.beta1 as f32, self.cfg.beta2 as f32);
        let bc1 = 1.0 - self.cfg.beta1.powi(self.t as i32);
        let bc2 = 1.0 - self.cfg.beta2.powi(self.t as i32);
        let step_size = (lr / bc1) as f32;
        let bc2_sqrt = bc2.sqrt() as f32;
        let (eps, decay) = (self.cfg.eps as f32, (lr * self.cfg.weight_decay) as f32);
        for (name, var) in vars {
            let Some(g) = grads.get(name) else { continue };
            let shape = var.shape().clone();
            let mut w = var.as_tensor().flatten_all()?.to_vec1::<f32>()?;
            let m = self.m.entry(name.clone()).or_insert_with(|| vec![0.0; w.len()]);
            let v = self.v.entry(name.clone()).or_insert_with(|| vec![0.0; w.len()]);
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

/// Adds the gradients of `vars` in `store` into `acc` as flat `f32` buffers.
pub fn accumulate(
    acc: &mut BTreeMap<String, Vec<f32>>,
    vars: &BTreeMap<String, Var>,
    store: &GradStore,
) -> Result<()> {
    for (name, var) in vars {
        let Some(g) = store.get(var.as_tensor()) else {
            continue;
        };
        let g = g.flatten_all()?.to_vec1::<f32>().context("gradient to host")?;
        match acc.get_mut(name) {
            Some(a) => a.iter_mut().zip(&g).for_each(|(a, g)| *a += g),
            None => {
                acc.insert(name.clone(), g);
            }
        }
    }
    Ok(())
}
