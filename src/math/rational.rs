//! Exact rational arithmetic for the evaluator, without num-rational's normalisation cost on
//! operands of very different sizes. num-bigint's gcd is the binary algorithm, whose time
//! grows with the square of the larger operand even when the other has a few bits, and
//! num-rational takes such a gcd on every product and sum: `2004!·t·t·…` (found by fuzzing)
//! spent seconds reducing a 19,000-bit numerator against denominators like 13. One Euclid step
//! (`big mod small`, a single linear division) first brings both operands to the small size.
//!
//! Every function returns a reduced fraction with a positive denominator, like `Ratio::new`.

use num_bigint::BigInt;
use num_integer::Integer;
use num_rational::BigRational;
use num_traits::{Signed, Zero};

/// Greatest common divisor, non-negative.
pub fn gcd(a: &BigInt, b: &BigInt) -> BigInt {
    let (mut a, mut b) = (a.abs(), b.abs());
    loop {
        if a.bits() < b.bits() {
            std::mem::swap(&mut a, &mut b);
        }
        // After the swap, so that a zero is always the smaller one (gcd(0, x) = x).
        if b.is_zero() {
            return a;
        }
        // Sizes far apart: a division step is linear in the larger one; the binary algorithm
        // would shift the larger one bit by bit.
        if a.bits() > b.bits() + 64 {
            a = &a % &b;
        } else {
            return a.gcd(&b);
        }
    }
}

pub fn mul(a: &BigRational, b: &BigRational) -> BigRational {
    if a.is_zero() || b.is_zero() {
        return BigRational::zero();
    }
    // Cross-cancel first: with both inputs reduced, the product is then reduced too.
    let g1 = gcd(a.numer(), b.denom());
    let g2 = gcd(b.numer(), a.denom());
    let numer = (a.numer() / &g1) * (b.numer() / &g2);
    let denom = (a.denom() / &g2) * (b.denom() / &g1);
    BigRational::new_raw(numer, denom)
}

pub fn add(a: &BigRational, b: &BigRational) -> BigRational {
    if a.is_zero() {
        return b.clone();
    }
    if b.is_zero() {
        return a.clone();
    }
    // Knuth's form: with g = gcd(a.d, b.d), only g can share factors with the new numerator.
    let g = gcd(a.denom(), b.denom());
    let (a_rest, b_rest) = (a.denom() / &g, b.denom() / &g);
    let numer = a.numer() * &b_rest + b.numer() * &a_rest;
    if numer.is_zero() {
        return BigRational::zero();
    }
    let g2 = gcd(&numer, &g);
    let denom = a_rest * (b.denom() / &g2);
    BigRational::new_raw(numer / g2, denom)
}

/// `a / b`; `b` must not be zero.
pub fn div(a: &BigRational, b: &BigRational) -> BigRational {
    debug_assert!(!b.is_zero(), "callers check for division by zero");
    let (numer, denom) = if b.numer().is_negative() {
        (-b.denom(), -b.numer())
    } else {
        (b.denom().clone(), b.numer().clone())
    };
    mul(a, &BigRational::new_raw(numer, denom))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(n: i64, d: i64) -> BigRational {
        BigRational::new(BigInt::from(n), BigInt::from(d))
    }

    /// A spread of values: zero, signs, units, shared factors, and one huge numerator.
    fn values() -> Vec<BigRational> {
        let mut out = vec![
            q(0, 1),
            q(1, 1),
            q(-1, 1),
            q(6, 35),
            q(-35, 6),
            q(12, 7),
            q(-7, 12),
            q(1, 13),
        ];
        let factorial: BigInt = (1..=400u32).map(BigInt::from).product();
        out.push(BigRational::new(factorial.clone(), BigInt::from(13)));
        out.push(BigRational::new(-BigInt::from(7), factorial));
        out
    }

    #[test]
    fn agrees_with_num_rational_on_every_pair() {
        for a in values() {
            for b in values() {
                assert_eq!(add(&a, &b), &a + &b, "{a} + {b}");
                assert_eq!(mul(&a, &b), &a * &b, "{a} * {b}");
                if !b.is_zero() {
                    assert_eq!(div(&a, &b), &a / &b, "{a} / {b}");
                }
            }
        }
    }

    #[test]
    fn results_are_reduced_with_a_positive_denominator() {
        let sum = add(&q(1, 6), &q(1, 3));
        assert_eq!(
            (sum.numer().clone(), sum.denom().clone()),
            (BigInt::from(1), BigInt::from(2))
        );
        let quotient = div(&q(3, 4), &q(-9, 8));
        assert_eq!(
            (quotient.numer().clone(), quotient.denom().clone()),
            (BigInt::from(-2), BigInt::from(3))
        );
        assert_eq!(gcd(&BigInt::from(-12), &BigInt::from(18)), BigInt::from(6));
        assert_eq!(gcd(&BigInt::from(0), &BigInt::from(-5)), BigInt::from(5));
        // A zero beside a number too large for the final step (a fuzz-found division by zero).
        let large = BigInt::from(3) << 100;
        assert_eq!(gcd(&BigInt::from(0), &large), large);
        assert_eq!(gcd(&large, &BigInt::from(0)), large);
        assert_eq!(gcd(&large, &BigInt::from(6)), BigInt::from(6));
    }
}
