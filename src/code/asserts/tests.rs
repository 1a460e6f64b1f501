use num_bigint::BigInt;
use serde_json::json;

use super::value::{py_eq, within};
use super::*;

fn checks(test: &str) -> Vec<Check> {
    read_checks(test).unwrap_or_else(|| panic!("not read: {test}"))
}

fn one(test_line: &str) -> (Call, Expectation) {
    let test = format!("def check(candidate):\n    {test_line}\n");
    match checks(&test).pop() {
        Some(Check::Call(call, expectation)) => (call, expectation),
        other => panic!("{test_line}: {other:?}"),
    }
}

fn answer(json: serde_json::Value) -> PyValue {
    decode_answer(&json).unwrap()
}

fn int(n: i64) -> PyValue {
    PyValue::Int(BigInt::from(n))
}

#[test]
fn humaneval_shaped_tests_are_read_with_their_metadata_comments_and_messages() {
    let test = r#"

METADATA = {
    'author': 'jt',
    'dataset': 'test'
}


def check(candidate):
    # simple cases
    assert candidate([1.0, 2.0, 3.0], 0.5) == False
    assert candidate([1.0, 2.8, 3.0, 4.0, 5.0, 2.0],
                     0.3) == True
    assert candidate(3 * 19) == [3, 19], "This prints if this assert fails 1 (good for debugging!)"
    assert True, "This prints if this assert fails 2 (also good for debugging!)"
    assert abs(candidate([1.0, 2.0, 3.0]) - 2.0 / 3.0) < 1e-6
    assert not candidate("abc"), "got " + str(candidate("abc")) + repr([1, 2][0]) + candidate.__name__
    assert candidate('abcde' + 'cade' + 'CADE') == 5, "First test error: " + str(len(candidate("a")))
    assert candidate(x=1) is None
"#;
    let checks = checks(test);
    assert_eq!(checks.len(), 8);
    let Check::Call(call, Expectation::Equal(expected)) = &checks[2] else {
        panic!()
    };
    assert_eq!(repr(&call.args[0]), "57");
    assert_eq!(repr(expected), "[3, 19]");
    assert!(matches!(checks[3], Check::Constant(true)));
    let Check::Call(_, Expectation::Within { target, .. }) = &checks[4] else {
        panic!()
    };
    assert!(matches!(target, PyValue::Float(f) if *f == 2.0 / 3.0));
    assert!(matches!(&checks[5], Check::Call(_, Expectation::Falsy)));
    let Check::Call(call, _) = &checks[7] else {
        panic!()
    };
    assert_eq!(call.kwargs[0].0, "x");
}

#[test]
fn anything_outside_the_read_part_leaves_the_test_to_the_judge() {
    for test in [
        // A loop, a helper, a name of the test's own, a call of something else.
        "def check(candidate):\n    for x in range(3):\n        assert candidate(x) == x\n",
        "def helper(x):\n    return x\n\ndef check(candidate):\n    assert candidate(1) == helper(1)\n",
        "def check(candidate):\n    lst = [1]\n    assert candidate(lst) == 1\n",
        "EPS = 1e-6\ndef check(candidate):\n    assert abs(candidate(1) - 1) < EPS\n",
        "def check(candidate):\n    assert tuple(candidate([1])) == (1,)\n",
        "def check(candidate):\n    assert candidate(1)[0] == 1\n",
        "def check(candidate):\n    assert candidate(1) == candidate(1)\n",
        "def check(candidate):\n    assert candidate(f'{1}') == 1\n",
        "def check(candidate):\n    assert 1 < candidate(1) < 3\n",
        "def check(candidate):\n    assert candidate(1) != 2\n",
        "def check(candidate):\n    assert candidate(1) == 2 or True\n",
        "def check(candidate):\n    assert candidate(*[1]) == 2\n",
        "def check(candidate):\n    assert candidate(1j) == 2\n",
        "def check(candidate):\n    assert candidate({[1]}) == 2\n",
        "import random\ndef check(candidate):\n    assert candidate(1) == 1\n",
        "def check(candidate):\n    assert candidate(1) == 1\ncheck(print)\n",
        "def check(candidate):\n    assert candidate(1) == 1\ndef check(candidate):\n    pass\n",
        "def check(candidate):\n    assert candidate(1) == 1\n      assert candidate(2) == 2\n",
        "def check(candidate):\n    assert candidate(1) == 1; assert candidate(2) == 2\n",
        "def check(candidate):\n    assert candidate('\\N{DASH}') == 1\n",
        "def check(candidate):\n    assert candidate(2 ** -1) == 1\n",
        "def check(candidate):\n    assert candidate(1 / 0) == 1\n",
        "def check(candidate):\n    assert candidate(10 ** 100000) == 1\n",
        "def check(candidate):\n    pass\n",
        // Names that would change what a line means, and malformed literals.
        "abs = 5\ndef check(candidate):\n    assert abs(candidate(1) - 1) < 1e-6\n",
        "from math import fabs as abs\ndef check(candidate):\n    assert abs(candidate(1) - 1) < 1e-6\n",
        "def check(True):\n    assert True\n",
        "def check(candidate):\n    assert candidate(1__0) == 1\n",
        "def check(candidate):\n    assert candidate(1_) == 1\n",
        "def check(candidate):\n    assert candidate(1_.5) == 1\n",
        "def check(candidate):\n    assert candidate(1) == 1, lambda: 1\n",
        "def check(candidate):\n    assert candidate(1) == 1, (1,\n",
        "",
    ] {
        assert!(read_checks(test).is_none(), "read: {test}");
    }
    let deep = format!(
        "def check(candidate):\n    assert candidate({}1{}) == 1\n",
        "[".repeat(500),
        "]".repeat(500)
    );
    assert!(read_checks(&deep).is_none());
}

#[test]
fn the_parameter_is_the_tested_function_whatever_its_name() {
    // `def check(abs):` calls the solution's function `abs`, never the builtin.
    let checks = checks("def check(abs):\n    assert abs(-3) == 3\n");
    let Some(Check::Call(call, Expectation::Equal(expected))) = checks.first() else {
        panic!("{checks:?}")
    };
    assert_eq!(
        (repr(&call.args[0]).as_str(), repr(expected).as_str()),
        ("-3", "3")
    );
}

#[test]
fn literals_and_folding_mean_what_cpython_makes_of_them() {
    let cases = [
        ("-2 ** 2", "-4"),
        ("7 // -2", "-4"),
        ("-7 % 3", "2"),
        ("0 ** 0", "1"),
        ("[1, 0 ** 0]", "[1, 1]"),
        ("[-0, 1 ** 0]", "[0, 1]"),
        ("1_000 + 0x10 + 0o7 + 0b11", "1026"),
        ("(3 + 5 + 7, 3 * 5 * 7)", "(15, 105)"),
        ("(1,)", "(1,)"),
        ("()", "()"),
        ("'a' * 3 + \"b\"", "\"aaab\""),
        ("'ab' 'cd'", "\"abcd\""),
        ("'\\x41\\101\\u00e9\\n'", "\"AAé\\n\""),
        ("r'\\d+'", "\"\\\\d+\""),
        ("'\\d'", "\"\\\\d\""),
        ("{1: 'a', 1.0: 'b'}", "{1: \"b\"}"),
        ("{1, 1.0, True, 2}", "{1, 2}"),
        ("True + True", "2"),
        ("1 / 4", "0.25"),
        ("1.5e3", "1500.0"),
        ("'''two\nlines'''", "\"two\\nlines\""),
    ];
    for (literal, expected) in cases {
        let (call, _) = one(&format!("assert candidate({literal}) == 0"));
        assert_eq!(repr(&call.args[0]), expected, "{literal}");
    }
}

#[test]
fn equality_follows_python_for_every_plain_type() {
    let eq = |a: serde_json::Value, b: serde_json::Value| py_eq(&answer(a), &answer(b)).unwrap();
    assert!(eq(json!(1), json!(1.0)));
    assert!(eq(json!(true), json!(1)));
    assert!(!eq(json!(1), json!("1")));
    // Integers exactly, at any size, and against floats exactly.
    let big: serde_json::Value = serde_json::from_str("9223372036854775809").unwrap();
    let near: serde_json::Value = serde_json::from_str("9223372036854775808").unwrap();
    assert!(!eq(big.clone(), near.clone()));
    assert!(eq(near, json!(9.223_372_036_854_776e18)));
    assert!(!eq(big, json!(9.223_372_036_854_776e18)));
    assert!(!eq(json!({"$float": "nan"}), json!({"$float": "nan"})));
    assert!(eq(json!(-0.0), json!(0)));
    // A tuple is not a list; a set equals a frozenset; dicts by key.
    assert!(!eq(json!({"$tuple": [1, 2]}), json!([1, 2])));
    assert!(eq(json!({"$tuple": [1, 2]}), json!({"$tuple": [1.0, 2]})));
    assert!(eq(json!({"$set": [1, 2]}), json!({"$frozenset": [2, 1]})));
    assert!(eq(
        json!({"$dict": [[1, "a"], [2, "b"]]}),
        json!({"$dict": [[2.0, "b"], [true, "a"]]})
    ));
    assert!(!eq(json!({"$dict": [[1, "a"]]}), json!({"$dict": [[1, "b"]]})));
    assert!(eq(json!({"$complex": ["2.0", "0.0"]}), json!(2)));
    assert!(!eq(json!({"$bytes": "61"}), json!("a")));
    assert!(eq(json!(null), json!(null)));
    // A duplicated element of a forged set is one element, as set() makes it.
    assert!(eq(json!({"$set": [1, 1, 1.0]}), json!({"$set": [1]})));
}

#[test]
fn an_object_of_the_solution_is_never_compared_or_tested_for_truth() {
    let reference = answer(json!({"$ref": ["ref", 0]}));
    assert!(py_eq(&reference, &int(1)).is_err());
    assert!(py_eq(&int(1), &reference).is_err());
    assert!(reference.truth().is_err());
    // Inside a list it is compared when reached, not when an earlier pair differs.
    let list = answer(json!([1, {"$ref": ["ref", 0]}]));
    assert!(py_eq(&list, &PyValue::List(vec![int(1), int(2)])).is_err());
    assert!(!py_eq(&list, &PyValue::List(vec![int(0), int(2)])).unwrap());
    assert!(!py_eq(&list, &PyValue::List(vec![int(1)])).unwrap());
    // It cannot be hashed: a forged set holding one is not plain data.
    assert!(decode_answer(&json!({"$set": [{"$ref": ["ref", 0]}]})).is_err());
    assert!(decode_answer(&json!({"$set": [[1]]})).is_err());
    assert!(decode_answer(&json!({"a": 1})).is_err());
    assert!(decode_answer(&json!({"$eval": "1"})).is_err());
}

#[test]
fn within_is_python_arithmetic() {
    let t = PyValue::Float(1e-6);
    assert!(
        within(
            &PyValue::Float(0.666_666_7),
            &PyValue::Float(2.0 / 3.0),
            &t,
            false
        )
        .unwrap()
    );
    assert!(!within(&PyValue::Float(0.67), &PyValue::Float(2.0 / 3.0), &t, false).unwrap());
    assert!(within(&int(3), &PyValue::Float(3.0), &t, false).unwrap());
    assert!(!within(&PyValue::Float(f64::NAN), &PyValue::Float(1.0), &t, false).unwrap());
    assert!(within(&PyValue::Str("1".into()), &int(1), &t, false).is_err());
    // An integer too large for a float cannot meet a float.
    let huge = answer(serde_json::from_str(&"9".repeat(400)).unwrap());
    assert!(within(&huge, &PyValue::Float(1.0), &t, false).is_err());
    // `<` against `<=` at the boundary.
    assert!(!within(&int(2), &int(1), &int(1), false).unwrap());
    assert!(within(&int(2), &int(1), &int(1), true).unwrap());
    let very_long = answer(serde_json::from_str(&"9".repeat(5000)).unwrap());
    assert!(!within(&very_long, &int(1), &int(1), true).unwrap());
}

#[test]
fn requests_are_what_the_judge_would_send() {
    let (call, _) = one("assert candidate([1, (2, 3)], {'a'}, 1.5, float_key=-0.0) == 0");
    assert_eq!(
        call_request("f", &call),
        r#"["call",["global","f"],[[1,{"$tuple":[2,3]}],{"$set":["a"]},1.5],{"$dict":[["float_key",-0.0]]}]"#
    );
    let (call, _) = one("assert candidate(1e400 - 1e400, b'\\x00') == 0");
    assert_eq!(
        call_request("f", &call),
        r#"["call",["global","f"],[{"$float":"nan"},{"$bytes":"00"}],{"$dict":[]}]"#
    );
}

#[test]
fn expectations_decide_lines_as_check_would() {
    let (_, expectation) = one("assert candidate(1) == True");
    assert!(expectation.holds(&int(1)).unwrap());
    assert!(!expectation.holds(&int(2)).unwrap());
    let (_, expectation) = one("assert candidate(1) is True");
    assert!(!expectation.holds(&int(1)).unwrap());
    assert!(expectation.holds(&PyValue::Bool(true)).unwrap());
    let (_, expectation) = one("assert candidate(1)");
    assert!(!expectation.holds(&PyValue::List(vec![])).unwrap());
    let (_, expectation) = one("assert not candidate(1)");
    assert!(expectation.holds(&PyValue::Str(String::new())).unwrap());
    let (_, expectation) = one("assert [3, 19] == candidate(57)");
    assert!(expectation.holds(&answer(json!([3, 19.0]))).unwrap());
    assert!(!expectation.holds(&answer(json!({"$tuple": [3, 19]}))).unwrap());
}

/// The corpora the reader exists for: HumanEval's tests and MBPP's asserts (wrapped in
/// `check` as `tests/api/mbpp.rs` does) are almost all read, so almost none needs a judge.
#[test]
fn most_of_humaneval_and_mbpp_is_read_on_the_host() {
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/code");
    let lines = |file: &str| -> Vec<serde_json::Value> {
        let text = std::fs::read_to_string(data.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let humaneval = lines("HumanEval.jsonl");
    let unread: Vec<&str> = humaneval
        .iter()
        .filter(|p| read_checks(p["test"].as_str().unwrap()).is_none())
        .map(|p| p["task_id"].as_str().unwrap())
        .collect();
    assert!(
        unread.len() <= 9 && humaneval.len() == 164,
        "HumanEval tests not read: {unread:?}"
    );
    // The ones with loops, random inputs or helpers stay with the judge.
    let by_id = |id: &str| {
        humaneval.iter().find(|p| p["task_id"] == id).unwrap()["test"]
            .as_str()
            .unwrap()
    };
    assert!(read_checks(by_id("HumanEval/32")).is_none());
    assert!(read_checks(by_id("HumanEval/53")).is_none());

    let mbpp = lines("mbpp.jsonl");
    let read = mbpp
        .iter()
        .filter(|p| {
            let asserts: Vec<String> = p["test_list"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| format!("    {}\n", a.as_str().unwrap()))
                .collect();
            let test = format!(
                "{}\ndef check(candidate):\n{}",
                p["test_setup_code"].as_str().unwrap_or(""),
                asserts.concat()
            );
            // The function is called by its own name in MBPP; the reader's callee is the
            // parameter, so rename the parameter instead of the calls.
            let name = asserts[0]
                .trim_start()
                .trim_start_matches("assert ")
                .trim_start_matches("not ");
            let name = name
                .trim_start_matches("math.isclose(")
                .trim_start_matches("set(");
            let name: String = name
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            read_checks(&test.replace("check(candidate)", &format!("check({name})"))).is_some()
        })
        .count();
    assert!(read >= 950, "{read} of {} MBPP problems read", mbpp.len());
}
