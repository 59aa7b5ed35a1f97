"""Every node class has a handler in every pass, and every operator means the same at run time and in Z3.

The passes: the checker over the AST; the runtime, the Z3 encoding and the explanations over the IR.
"""

import pytest
import z3

from eigendsl import ir
from eigendsl.runtime.evaluation import ASSIGNMENTS, BINARY, SHORT_CIRCUIT
from eigendsl.runtime.interpreter import QUANTIFIERS, Program
from eigendsl.semantics.check import DECLARATIONS
from eigendsl.semantics.expressions import EXPRESSIONS
from eigendsl.semantics.statements import STATEMENTS
from eigendsl.syntax import ast
from eigendsl.syntax.spans import NOWHERE
from eigendsl.types import BOOL, INT, ListType, OptionalType
from eigendsl.verify.explain import TEXT
from eigendsl.verify.reward import TaskChecker
from eigendsl.verify.symbolic import Encoder
from eigendsl.verify.symvalues import Unsupported


def concrete_subclasses(base: type) -> set[type]:
    out, stack = set(), [base]
    while stack:
        cls = stack.pop()
        for sub in cls.__subclasses__():
            out.add(sub)
            stack.append(sub)
    return out


def test_every_expression_class_has_a_handler():
    assert concrete_subclasses(ast.Expr) == set(EXPRESSIONS)


def test_every_statement_class_has_a_handler():
    assert concrete_subclasses(ast.Stmt) == set(STATEMENTS)


def test_every_declaration_class_has_a_pass():
    assert concrete_subclasses(ast.Decl) == set(DECLARATIONS)


def test_handlers_take_the_class_they_are_registered_for():
    for table in (EXPRESSIONS, STATEMENTS):
        for cls, handler in table.items():
            annotation = handler.__annotations__.get("e", handler.__annotations__.get("s"))
            assert annotation in (f"ast.{cls.__name__}", None), (cls, handler)


# ---------------------------------------------------------------- passes over the IR


def test_every_ir_node_class_has_a_handler_in_every_pass():
    expressions, statements = set(ir.node_classes(ir.Expr)), set(ir.node_classes(ir.Stmt))
    assert expressions == concrete_subclasses(ir.Expr) and statements == concrete_subclasses(ir.Stmt)
    for table in (Program.EXPRESSIONS, Encoder.EXPRESSIONS, TEXT):
        assert set(table) == expressions
    for table in (Program.STATEMENTS, Encoder.STATEMENTS):
        assert set(table) == statements


def test_a_pass_without_a_handler_is_refused_when_defined():
    class Partial:
        def e_Const(self, e):
            return e.value

    assert ir.handlers(Program, "e_", ir.Expr)[ir.Const] == "e_Const"
    with pytest.raises(TypeError, match=r"Partial has no handler for e_Local, .*e_Format"):
        ir.handlers(Partial, "e_", ir.Expr)


def test_the_runtime_tables_cover_every_operator():
    assert set(BINARY) | set(SHORT_CIRCUIT) == set(ir.BinaryOperator) and not set(BINARY) & set(SHORT_CIRCUIT)
    assert set(ASSIGNMENTS) == set(ir.AssignOperator)
    assert set(QUANTIFIERS) == set(ir.Quantifier)


EMPTY = ir.Domain("t", "t", {}, "t.eig", (), (), (), (), (), (), (), (), (), (), (), ())
A, B = ir.Local(INT, NOWHERE, 0, "a"), ir.Local(INT, NOWHERE, 1, "b")
XS = ir.Local(ListType(INT), NOWHERE, 0, "xs")
X = ir.Local(INT, NOWHERE, 1, "x")
OPERANDS = {  # op -> (left, right, result type, runtime values, z3 unknowns)
    **{op: (A, B, INT, [(7, 3), (-7, 2), (4, -3)]) for op in ir.ARITHMETIC},
    **{op: (A, B, BOOL, [(1, 2), (2, 2), (3, 2)]) for op in ir.COMPARISONS},
    ir.BinaryOperator.AND: (ir.Local(BOOL, NOWHERE, 0, "p"), ir.Local(BOOL, NOWHERE, 1, "q"), BOOL,
                            [(True, False), (True, True), (False, True)]),
    ir.BinaryOperator.OR: (ir.Local(BOOL, NOWHERE, 0, "p"), ir.Local(BOOL, NOWHERE, 1, "q"), BOOL,
                           [(False, False), (True, False), (False, True)]),
    ir.BinaryOperator.IN: (A, ir.Const(ListType(INT), NOWHERE, [1, 2, 3]), BOOL, [(2, None), (5, None)]),
    ir.BinaryOperator.NOT_IN: (A, ir.Const(ListType(INT), NOWHERE, [1, 2, 3]), BOOL, [(2, None), (5, None)]),
}


def unknown(value, name):
    return z3.Bool(name) if isinstance(value, bool) else z3.Int(name)


def z3_value(term):
    term = z3.simplify(term)
    if z3.is_true(term) or z3.is_false(term):
        return z3.is_true(term)
    return term.as_long() if z3.is_int_value(term) else term.as_fraction()


def agree(e: ir.Expr, values: list, symbolic: bool = True):
    """The runtime's value of `e` with locals `values`, and the encoding's on the same values, known and unknown."""
    expected = Program(EMPTY).expr(e)(list(values), None)
    assert Encoder(EMPTY).expr(e, list(values)) == expected
    if not symbolic:
        return expected
    names = [unknown(v, f"v{i}") if v is not None and not isinstance(v, list) else v for i, v in enumerate(values)]
    term = Encoder(EMPTY).expr(e, names)
    pairs = [(n, z3.BoolVal(v) if isinstance(v, bool) else z3.IntVal(v)) for n, v in zip(names, values) if z3.is_expr(n)]
    assert z3_value(z3.substitute(term, *pairs)) == expected, (e, values)
    return expected


@pytest.mark.parametrize("op", list(ir.BinaryOperator))
def test_every_binary_operator_means_the_same_at_run_time_and_in_z3(op):
    left, right, t, cases = OPERANDS[op]
    for a, b in cases:
        e = ir.BinaryOp(INT if op in ir.ARITHMETIC and op != ir.BinaryOperator.DIV else t, NOWHERE, op, left, right)
        values = [a, b] if b is not None else [a]
        if op == ir.BinaryOperator.DIV:  # z3 bounds a rounded quotient instead of computing it
            agree(e, values, symbolic=False)
            with pytest.raises(Unsupported):
                Encoder(EMPTY).expr(e, [z3.Int("a"), z3.Int("b")])
        else:
            agree(e, values)


@pytest.mark.parametrize("op", list(ir.UnaryOperator))
def test_every_unary_operator_means_the_same_at_run_time_and_in_z3(op):
    operand = ir.Local(BOOL, NOWHERE, 0, "p") if op == ir.UnaryOperator.NOT else A
    for value in ([True, False] if op == ir.UnaryOperator.NOT else [3, -4]):
        agree(ir.UnaryOp(operand.type, NOWHERE, op, operand), [value])


@pytest.mark.parametrize("kind", list(ir.Quantifier))
def test_every_quantifier_means_the_same_at_run_time_and_in_z3(kind):
    body = X if kind == ir.Quantifier.SUM else ir.BinaryOp(BOOL, NOWHERE, ir.BinaryOperator.GT, X, ir.Const(INT, NOWHERE, 1))
    t = {ir.Quantifier.SUM: INT, ir.Quantifier.COUNT: INT, ir.Quantifier.FIND: OptionalType(INT)}.get(kind, BOOL)
    e = ir.Quantified(t, NOWHERE, kind, 1, XS, body)
    for xs in ([1, 2, 3], [0, 1], []):
        assert agree(e, [xs, None], symbolic=False) == Program(EMPTY).expr(e)([xs, None], None)
        if kind != ir.Quantifier.FIND:  # over unknown elements: the encoding's term, evaluated
            names = [z3.Int(f"x{i}") for i in range(len(xs))]
            term = Encoder(EMPTY).expr(e, [names, None])
            term = term if z3.is_expr(term) else (z3.BoolVal(term) if isinstance(term, bool) else z3.IntVal(term))
            pairs = [(n, z3.IntVal(v)) for n, v in zip(names, xs)]
            assert z3_value(z3.substitute(term, *pairs) if pairs else term) == Program(EMPTY).expr(e)([xs, None], None)


def test_every_reward_component_has_a_scorer():
    assert set(TaskChecker.SCORERS) == set(ir.RewardComponent)
    assert all(callable(getattr(TaskChecker, name)) for name in TaskChecker.SCORERS.values())
