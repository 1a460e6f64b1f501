//! How each language's interpreter is invoked inside the sandbox, and how its compile errors
//! are told apart from runtime errors.
//!
//! Python (python.wasm, CPython 3.12) runs `python -I -S -c DRIVER CODE`: the program travels
//! as an argument because stdin belongs to the program's input, and there are no files. The
//! small driver below compiles the program first, so a `SyntaxError` in the program (a
//! compile error) is reported without a `Traceback` header, exactly as `python -c` reports it,
//! while a `SyntaxError` raised at run time (`eval("1+")`) keeps its traceback and stays a
//! runtime error. `-I` ignores the (empty) environment and the user site. `-S` skips `site`:
//! measured interleaved, 42 ms instead of 50 ms median per run; `site` would only add
//! `exit`/`quit`/`help`, and the driver defines `exit` and `quit` itself because
//! competitive-programming solutions call them.
//!
//! JavaScript (quickjs.wasm, QuickJS-NG) runs `qjs --std -e CODE`; `--std` makes `std` and `os`
//! global, so `std.in.readAsString()` reads stdin. QuickJS-NG renamed the modules `qjs:std` and
//! `qjs:os`; programs written for classic QuickJS import `'std'`/`'os'`, so those two import
//! specifiers are rewritten (nothing else in the program is touched).

use std::borrow::Cow;

use super::Language;

/// Compiles the program (argv[1]) before running it in a fresh `__main__` module, and prints
/// uncaught exceptions without the driver's own frame.
const PYTHON_DRIVER: &str = r#"import sys
src = sys.argv.pop(1)
if len(sys.argv) > 1:
    harness = type(sys)("verdict_harness")
    exec(compile(sys.argv.pop(1), "verdict_harness.py", "exec"), harness.__dict__)
    sys.modules["verdict_harness"] = harness
    del harness
try:
    code = compile(src, "<string>", "exec")
except (SyntaxError, ValueError) as e:
    import traceback
    sys.stderr.write("".join(traceback.format_exception_only(e)))
    sys.exit(1)
del src
import builtins
builtins.exit = builtins.quit = sys.exit
main = type(sys)("__main__")
main.__builtins__ = builtins
sys.modules["__main__"] = main
try:
    exec(code, main.__dict__)
except SystemExit:
    raise
except BaseException as e:
    e.__traceback__ = e.__traceback__.tb_next
    sys.excepthook(type(e), e, e.__traceback__)
    sys.exit(1)
"#;

/// The guest's argv (argv[0] first) for running `code`.
pub(super) fn argv(language: Language, code: &str) -> Vec<String> {
    match language {
        Language::Python => {
            let mut argv: Vec<String> = ["python", "-I", "-S", "-c", PYTHON_DRIVER, code]
                .map(String::from)
                .to_vec();
            // The test drivers' module, for the programs of harness.rs that import it (the
            // runner has it built in). Installed before the program runs.
            if code.starts_with("import verdict_harness") {
                argv.push(super::runner_build::PYTHON_HARNESS.to_owned());
            }
            argv
        }
        Language::JavaScript => vec![
            "qjs".into(),
            "--std".into(),
            "-e".into(),
            qjs_module_names(code).into_owned(),
        ],
    }
}

/// Rewrites `from 'std'` / `from "os"` (classic QuickJS) to the QuickJS-NG names.
fn qjs_module_names(code: &str) -> Cow<'_, str> {
    const CLASSIC: [(&str, &str); 4] = [
        ("from 'std'", "from 'qjs:std'"),
        ("from \"std\"", "from \"qjs:std\""),
        ("from 'os'", "from 'qjs:os'"),
        ("from \"os\"", "from \"qjs:os\""),
    ];
    if !CLASSIC.iter().any(|(old, _)| code.contains(old)) {
        return Cow::Borrowed(code);
    }
    let mut code = code.to_owned();
    for (old, new) in CLASSIC {
        code = code.replace(old, new);
    }
    Cow::Owned(code)
}

/// The top-level modules a Python source imports by statement (`import a.b as c, d`,
/// `from a.b import x`) or by a literal name (`__import__('a')`, `import_module('a')`); relative
/// imports are skipped. Read from the text, line by line: what decides where a program runs
/// (engine.rs) must come from the program, not from anything it prints. A module imported some
/// other way is looked up in the runner, and one it lacks is a runtime error.
pub(super) fn imported_modules(source: &str) -> Vec<&str> {
    let mut modules = Vec::new();
    for statement in source.lines().flat_map(|line| line.split(';')) {
        let statement = statement.trim_start();
        if let Some(names) = statement.strip_prefix("import ") {
            for name in names.split(',') {
                let name = name.split_whitespace().next().unwrap_or("");
                modules.push(top_level(name));
            }
        } else if let Some(rest) = statement.strip_prefix("from ") {
            let name = rest.split_whitespace().next().unwrap_or("");
            if !name.starts_with('.') {
                modules.push(top_level(name));
            }
        }
        for call in ["__import__(", "import_module("] {
            for (at, _) in statement.match_indices(call) {
                let argument = statement[at + call.len()..].trim_start();
                let Some(quote) = argument.chars().next().filter(|c| *c == '\'' || *c == '"') else {
                    continue;
                };
                if let Some(end) = argument[1..].find(quote) {
                    modules.push(top_level(&argument[1..1 + end]));
                }
            }
        }
    }
    modules.retain(|name| !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_'));
    modules
}

fn top_level(name: &str) -> &str {
    name.split('.')
        .next()
        .unwrap_or(name)
        .trim_matches(|c: char| c == '(' || c == ')')
}

/// Whether a run that exited with `exit_code` and wrote `stderr` failed to compile.
pub(super) fn is_compile_error(language: Language, exit_code: i32, stderr: &str) -> bool {
    if exit_code != 1 {
        return false;
    }
    match language {
        // The driver's compile failure: no traceback, last line names a SyntaxError subclass
        // (or the null-byte ValueError that `compile` raises).
        Language::Python => {
            let last = stderr.trim_end().lines().last().unwrap_or("");
            !stderr.contains("Traceback (most recent call last):")
                && (["SyntaxError:", "IndentationError:", "TabError:"]
                    .iter()
                    .any(|p| last.starts_with(p))
                    || last.starts_with("ValueError: source code string cannot contain null bytes"))
        }
        // QuickJS reports a parse failure as `SyntaxError: …` followed by a single
        // `at <cmdline>:LINE:COL` frame; a SyntaxError thrown at run time (`JSON.parse`) has
        // a frame inside a function (`at parse (native)`, `at f (<cmdline>…)`).
        Language::JavaScript => {
            let mut lines = stderr.trim_end().lines();
            let first = lines.next().unwrap_or("");
            let frames: Vec<&str> = lines.map(str::trim).filter(|l| l.starts_with("at ")).collect();
            first.starts_with("SyntaxError:")
                && frames.len() <= 1
                && frames.iter().all(|f| f.starts_with("at <cmdline>:"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_python_syntax_error_without_traceback_is_a_compile_error() {
        let stderr = "  File \"<string>\", line 1\n    1+\n      ^\nSyntaxError: invalid syntax\n";
        assert!(is_compile_error(Language::Python, 1, stderr));
        assert!(is_compile_error(
            Language::Python,
            1,
            "IndentationError: unexpected indent\n"
        ));
    }

    #[test]
    fn a_python_syntax_error_raised_at_run_time_is_not() {
        let stderr = "Traceback (most recent call last):\n  File \"<string>\", line 1, in <module>\n\
                      SyntaxError: invalid syntax\n";
        assert!(!is_compile_error(Language::Python, 1, stderr));
        assert!(!is_compile_error(Language::Python, 2, "SyntaxError: x\n"));
    }

    #[test]
    fn imports_are_read_from_the_source() {
        let source = "import os.path as p, sys\nfrom collections import deque\nfrom . import x\n\
                      x = __import__('lzma'); import  bz2\nm = importlib.import_module(\"curses.ascii\")\n\
                      text = 'no import here'\n    import json";
        assert_eq!(
            imported_modules(source),
            ["os", "sys", "collections", "lzma", "bz2", "curses", "json"]
        );
        assert!(imported_modules("print('import')").is_empty());
    }

    #[test]
    fn classic_quickjs_module_names_are_mapped_to_quickjs_ng() {
        let argv = argv(
            Language::JavaScript,
            "import * as std from 'std';\nimport {exit} from \"os\";",
        );
        assert_eq!(
            argv[3],
            "import * as std from 'qjs:std';\nimport {exit} from \"qjs:os\";"
        );
        assert!(matches!(qjs_module_names("console.log(1)"), Cow::Borrowed(_)));
    }

    #[test]
    fn python_argv_passes_the_program_as_one_argument() {
        let argv = argv(Language::Python, "print(1)\nprint(2)");
        assert_eq!(argv[0], "python");
        assert_eq!(argv.last().unwrap(), "print(1)\nprint(2)");
        // A driver program of harness.rs gets the drivers' module after it.
        let program = "import verdict_harness as h\nh.judge('', 'f')\n";
        let argv = super::argv(Language::Python, program);
        assert_eq!(argv[argv.len() - 2], program);
        assert!(argv.last().unwrap().contains("def judge("));
    }
}
