//! The GRPO arithmetic against values computed by hand.

use candle_core::{Device, Tensor, Var};
use policy_trainer::grpo::{self, LossType, ObjectiveParams, ScaleRewards, StepShape};

fn close(a: f64, b: f64) {
    assert!((a - b).abs() < 1e-5, "{a} != {b}");
}

#[test]
fn group_scaling_divides_by_the_unbiased_group_std() {
    let adv = grpo::advantages(
        &[vec![Some(1.0), Some(0.0), Some(1.0), Some(0.0)]],
        ScaleRewards::Group,
    );
    // mean 0.5, std sqrt(1/3) = 0.57735; 0.5 / (0.57735 + 1e-4)
    let expected = [0.865_875_4, -0.865_875_4, 0.865_875_4, -0.865_875_4];
    for (a, e) in adv[0].iter().zip(expected) {
        close(a.unwrap(), e);
    }
}

#[test]
fn batch_scaling_uses_the_std_of_the_whole_batch_and_group_means() {
    let adv = grpo::advantages(
        &[vec![Some(1.0), Some(0.0)], vec![Some(2.0), Some(2.0)]],
        ScaleRewards::Batch,
    );
    // std([1, 0, 2, 2]) = 0.957427; group means 0.5 and 2.
    close(adv[0][0].unwrap(), 0.522_178_4);
    close(adv[0][1].unwrap(), -0.522_178_4);
    close(adv[1][0].unwrap(), 0.0);
}

#[test]
fn no_scaling_only_centres() {
    let adv = grpo::advantages(&[vec![Some(3.0), Some(1.0), Some(2.0)]], ScaleRewards::None);
    let got: Vec<f64> = adv[0].iter().map(|a| a.unwrap()).collect();
    assert_eq!(got, vec![1.0, -1.0, 0.0]);
}

#[test]
fn unscorable_completions_get_no_advantage_and_stay_out_of_the_statistics() {
    let adv = grpo::advantages(&[vec![Some(1.0), None, Some(0.0)]], ScaleRewards::Group);
    close(adv[0][0].unwrap(), 0.707_006_8);
    assert!(adv[0][1].is_none());
    close(adv[0][2].unwrap(), -0.707_006_8);
}

#[test]
fn zero_variance_groups_are_recognised() {
    assert!(grpo::zero_std(&[Some(1.0), Some(1.0), None]));
    assert!(!grpo::zero_std(&[Some(1.0), Some(0.0)]));
}

#[test]
fn overlong_penalty_is_linear_inside_the_window() {
    assert_eq!(grpo::overlong_penalty(10, 20, 4, 1.0), 0.0);
    assert_eq!(grpo::overlong_penalty(16, 20, 4, 1.0), 0.0);
    close(grpo::overlong_penalty(18, 20, 4, 1.0), -0.5);
    close(grpo::overlong_penalty(20, 20, 4, 2.0), -2.0);
    assert_eq!(grpo::overlong_penalty(25, 20, 4, 1.0), -1.0);
}

/// Ratio 1 (logp = old), β = 0, so each token's loss is −advantage: row 0 has advantage 1
/// over 2 tokens, row 1 advantage −2 over 3 tokens. Masked sum = −2 + 6 = 4.
fn aggregate(loss_type: LossType, shape: StepShape) -> f64 {
    let d = Device::Cpu;
    let logp = Tensor::new(&[[-1f32, -2.0, -3.0], [-0.5, -0.1, -2.0]], &d).unwrap();
    let adv = Tensor::new(&[1f32, -2.0], &d).unwrap();
    let mask = Tensor::new(&[[1f32, 1.0, 0.0], [1.0, 1.0, 1.0]], &d).unwrap();
    let p = ObjectiveParams {
        epsilon: 0.2,
        epsilon_high: 0.2,
        beta: 0.0,
    };
    let m = grpo::micro_loss(&logp, &logp, None, &adv, &mask, &p, loss_type, shape).unwrap();
    m.loss.to_scalar::<f32>().unwrap() as f64
}

const SHAPE: StepShape = StepShape {
    total_sequences: 2,
    total_tokens: 10,
    micro_batches: 2,
    max_completion_len: 4,
};

#[test]
fn grpo_averages_per_sequence_means() {
    // (−1 + 2) / 2 sequences
    close(aggregate(LossType::Grpo, SHAPE), 0.5);
}

#[test]
fn bnpo_takes_the_token_mean_of_the_micro_batch() {
    // 4 / 5 tokens, averaged over 2 micro-batches
    close(aggregate(LossType::Bnpo, SHAPE), 0.4);
    close(
        aggregate(
            LossType::Bnpo,
            StepShape {
                micro_batches: 1,
                ..SHAPE
            },
        ),
        0.8,
    );
}

#[test]
fn dr_grpo_divides_by_a_constant() {
    // 4 / (2 sequences × 4 max tokens)
    close(aggregate(LossType::DrGrpo, SHAPE), 0.5);
}

#[test]
fn dapo_divides_by_the_tokens_of_the_whole_step() {
    close(aggregate(LossType::Dapo, SHAPE), 0.4);
}

#[test]
fn k3_matches_its_formula_and_is_zero_at_equality() {
    let d = Device::Cpu;
    let logp = Tensor::new(&[0.5f32.ln(), 0.3f32.ln()], &d).unwrap();
    let r = Tensor::new(&[0.25f32.ln(), 0.3f32.ln()], &d).unwrap();
    let k = grpo::k3(&logp, &r).unwrap().to_vec1::<f32>().unwrap();
    close(k[0] as f64, 0.193_147_2);
    close(k[1] as f64, 0.0);
}

#[test]
fn beta_adds_the_k3_term_to_every_token() {
    let d = Device::Cpu;
    let logp = Tensor::new(&[[0.5f32.ln()]], &d).unwrap();
    let r = Tensor::new(&[[0.25f32.ln()]], &d).unwrap();
    let p = ObjectiveParams {
        epsilon: 0.2,
        epsilon_high: 0.2,
        beta: 0.5,
    };
    let shape = StepShape {
        total_sequences: 1,
        total_tokens: 1,
        micro_batches: 1,
        max_completion_len: 1,
    };
    let adv = Tensor::new(&[0f32], &d).unwrap();
    let mask = Tensor::new(&[[1f32]], &d).unwrap();
    let m = grpo::micro_loss(&logp, &logp, Some(&r), &adv, &mask, &p, LossType::Dapo, shape).unwrap();
    close(m.loss.to_scalar::<f32>().unwrap() as f64, 0.5 * 0.193_147_2);
    close(m.kl_sum, 0.193_147_2);
}

#[test]
fn clipped_tokens_get_exactly_zero_gradient() {
    let d = Device::Cpu;
    // old log-probs 0; ratios e^0.5 = 1.65 and e^-0.7 = 0.50.
    let logp = Var::new(&[[0.5f32, 0.5, -0.7, -0.7, 0.1]], &d).unwrap();
    let old = Tensor::zeros((1, 5), candle_core::DType::F32, &d).unwrap();
    let mask = Tensor::ones((1, 5), candle_core::DType::F32, &d).unwrap();
    let p = ObjectiveParams {
        epsilon: 0.2,
        epsilon_high: 0.28,
        beta: 0.0,
    };
    let shape = StepShape {
        total_sequences: 1,
        total_tokens: 5,
        micro_batches: 1,
        max_completion_len: 5,
    };
    // Advantage +1 for the whole row: ratio 1.65 > 1.28 is clipped (zero gradient); ratio 0.5
    // < 0.8 with a positive advantage is not (the unclipped term is the smaller).
    let adv = Tensor::new(&[1f32], &d).unwrap();
    let m = grpo::micro_loss(
        logp.as_tensor(),
        &old,
        None,
        &adv,
        &mask,
        &p,
        LossType::Dapo,
        shape,
    )
    .unwrap();
    let g = m.loss.backward().unwrap();
    let g = g.get(logp.as_tensor()).unwrap().to_vec2::<f32>().unwrap()[0].clone();
    assert_eq!(g[0], 0.0);
    assert_eq!(g[1], 0.0);
    assert!(g[2] != 0.0 && g[3] != 0.0 && g[4] != 0.0, "{g:?}");
    close(m.clipped_tokens, 2.0);

    // Advantage −1: now ratio 0.5 < 0.8 is clipped and 1.65 is not.
    let adv = Tensor::new(&[-1f32], &d).unwrap();
    let m = grpo::micro_loss(
        logp.as_tensor(),
        &old,
        None,
        &adv,
        &mask,
        &p,
        LossType::Dapo,
        shape,
    )
    .unwrap();
    let g = m.loss.backward().unwrap();
    let g = g.get(logp.as_tensor()).unwrap().to_vec2::<f32>().unwrap()[0].clone();
    assert!(g[0] != 0.0 && g[1] != 0.0 && g[4] != 0.0, "{g:?}");
    assert_eq!(g[2], 0.0);
    assert_eq!(g[3], 0.0);
}
