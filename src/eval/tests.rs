use super::*;

/// C(n, k) exactly, for checking the estimator on small cases by hand.
fn choose(n: u64, k: u64) -> f64 {
    if k > n {
        return 0.0;
    }
    (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64)
}

#[test]
fn pass_at_k_matches_the_unbiased_estimator_on_hand_computed_cases() {
    // n = 5, c = 2, k = 2: 1 - C(3,2)/C(5,2) = 1 - 3/10.
    assert!((pass_at_k(5, 2, 2).unwrap() - 0.7).abs() < 1e-12);
    // n = 4, c = 1, k = 1: the plain success rate.
    assert!((pass_at_k(4, 1, 1).unwrap() - 0.25).abs() < 1e-12);
    // n = 10, c = 3, k = 5: 1 - C(7,5)/C(10,5) = 1 - 21/252.
    assert!((pass_at_k(10, 3, 5).unwrap() - (1.0 - 21.0 / 252.0)).abs() < 1e-12);
    assert_eq!(pass_at_k(3, 0, 2), Some(0.0));
    assert_eq!(pass_at_k(3, 2, 2), Some(1.0), "fewer wrong than k: always a pass");
    assert_eq!(pass_at_k(3, 1, 4), None);
    assert_eq!(pass_at_k(3, 1, 0), None);
    for n in 1..12 {
        for c in 0..=n {
            for k in 1..=n {
                let exact = 1.0 - choose(n - c, k) / choose(n, k);
                assert!((pass_at_k(n, c, k).unwrap() - exact).abs() < 1e-9, "{n} {c} {k}");
            }
        }
    }
}

#[test]
fn equivalent_answers_cluster_together() {
    let answers = [
        Some("0.5"),
        Some("\\frac12"),
        None,
        Some("1/3"),
        Some("\\frac{1}{2}"),
        Some("0.4"),
    ];
    let clusters = cluster_kind("math", &answers);
    assert_eq!(clusters, vec![Some(0), Some(0), None, Some(1), Some(0), Some(2)]);
    let code = cluster_kind("code", &[Some("a"), Some("a "), Some("b")]);
    assert_eq!(code, vec![Some(0), Some(0), Some(1)]);
}

#[test]
fn majority_at_k_counts_equivalent_answers_as_one_vote() {
    // Two right answers written differently outvote two identical wrong ones only if they
    // are one answer: 0.5, \frac12, 0.5 against 3, 3.
    let answers = [Some("3"), Some("0.5"), Some("3"), Some("\\frac12"), Some("0.5")];
    let clusters = cluster_kind("math", &answers);
    let samples: Vec<Sample> = clusters
        .iter()
        .zip([false, true, false, true, true])
        .map(|(cluster, success)| Sample {
            success,
            cluster: *cluster,
        })
        .collect();
    assert!(majority_correct(&samples));
    assert!(
        !majority_correct(&samples[..3]),
        "3, 0.5, 3: the wrong answer wins"
    );
    // A tie goes to the answer given first.
    assert!(!majority_correct(&samples[..4]));
    assert!(!majority_correct(&[Sample {
        success: false,
        cluster: None
    }]));
}

#[test]
fn metrics_average_over_problems_with_enough_samples() {
    let right = Sample {
        success: true,
        cluster: Some(0),
    };
    let wrong = Sample {
        success: false,
        cluster: Some(1),
    };
    let a = vec![right.clone(), wrong.clone(), right.clone(), right.clone()];
    let b = vec![wrong.clone(), wrong.clone(), wrong.clone(), right.clone()];
    let c = vec![right.clone()];
    let problems = [a.as_slice(), b.as_slice(), c.as_slice()];
    let m = metrics(problems.iter().copied(), &[1, 4]);
    assert_eq!(m.problems, 3);
    assert_eq!(m.samples, 9);
    assert!((m.accuracy - 5.0 / 9.0).abs() < 1e-12);
    let k1 = &m.at_k[0];
    assert_eq!((k1.problems, k1.problems_short), (3, 0));
    assert!((k1.pass_at_k.unwrap() - (0.75 + 0.25 + 1.0) / 3.0).abs() < 1e-12);
    assert!(
        (k1.mean_at_k.unwrap() - (1.0 + 0.0 + 1.0) / 3.0).abs() < 1e-12,
        "first sample only"
    );
    let k4 = &m.at_k[1];
    assert_eq!((k4.problems, k4.problems_short), (2, 1));
    assert_eq!(k4.pass_at_k, Some(1.0));
    assert_eq!(k4.mean_at_k, Some(0.5));
    assert_eq!(
        k4.majority_at_k,
        Some(0.5),
        "a: right wins 3–1; b: wrong wins 3–1"
    );
}

#[test]
fn group_statistics_are_right_on_hand_built_groups() {
    let stats = group_stats(
        &[2.0, 0.0, 2.0, 0.0],
        &[true, false, true, false],
        &[Some(0), Some(1), Some(0), None],
    );
    assert_eq!(stats.size, 4);
    assert_eq!(stats.mean, 1.0);
    assert_eq!(stats.std, 1.0);
    assert!(!stats.all_equal);
    assert_eq!(stats.distinct_answers, 2);
    assert_eq!(stats.success_rate, 0.5);
    assert_eq!(advantage(2.0, &stats), 1.0);
    assert_eq!(advantage(0.0, &stats), -1.0);

    let equal = group_stats(&[1.0, 1.0, 1.0], &[false; 3], &[Some(0), Some(1), Some(2)]);
    assert!(equal.all_equal);
    assert_eq!(equal.std, 0.0);
    assert_eq!(equal.distinct_answers, 3);
    assert_eq!(advantage(1.0, &equal), 0.0, "no signal, no advantage");
}
