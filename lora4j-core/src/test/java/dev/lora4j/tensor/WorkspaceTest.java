package dev.lora4j.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class WorkspaceTest {
    /** Issue 10, item 6: a tensor held across a reset would share its array with the next step; it fails loudly instead. */
    @Test
    void aPooledTensorUsedAfterItsStepFailsLoudly() {
        Tensor escaped;
        try (Workspace ws = Workspace.open()) {
            Tensor t = Tensor.pooled(new Shape(4)).requiresGrad(true);
            t.data()[0] = 1f;
            t.grad()[0] = 2f;
            ws.reset();
            Tensor next = Tensor.pooled(new Shape(4));          // gets t's array
            assertEquals(4, next.data().length);
            IllegalStateException e = assertThrows(IllegalStateException.class, t::data);
            assertTrue(e.getMessage().contains("after the workspace step that made it ended"), e.getMessage());
            assertThrows(IllegalStateException.class, t::grad);
            escaped = next;
            ws.release();
            assertThrows(IllegalStateException.class, next::data, "released too");
        }
        assertThrows(IllegalStateException.class, escaped::data);
        Tensor plain = Tensor.pooled(new Shape(2));                 // no workspace open: a plain tensor, never stale
        assertEquals(2, plain.data().length);
    }

    @Test
    void aResetHandsTheStepsArraysBackZeroed() {
        try (Workspace ws = Workspace.open()) {
            float[] a = Workspace.floats(8);
            a[3] = 7f;
            ws.reset();
            float[] b = Workspace.floats(8);
            assertSame(a, b);
            assertArrayEquals(new float[8], b);
            assertNotSame(b, Workspace.floats(8));             // taken twice in one step: two arrays
        }
    }

    /**
     * Issue 11, item 1: a shorter step (a batch padded to fewer tokens) reuses the longer step's arrays by capacity, so
     * the pool is sized by the longest step instead of growing with every distinct length; within bounds (8×).
     */
    @Test
    void aShorterStepReusesTheLongerStepsArrays() {
        try (Workspace ws = Workspace.open()) {
            float[] longStep = Workspace.floats(128_000);
            longStep[70_000] = 5f;
            ws.reset();
            float[] shortStep = Workspace.floats(64_000);
            assertSame(longStep, shortStep, "the same array, longer than asked");
            assertEquals(0f, shortStep[63_999], "the asked-for part is zeroed");
            Tensor t = Tensor.pooled(new Shape(300, 100));
            assertEquals(30_000, t.size(), "a tensor's size is its shape's, whatever its array's length");
            ws.reset();
            assertSame(longStep, Workspace.floats(128_000), "used by the short step, so kept");
        }
    }

    @Test
    void arraysNoStepTakesForALongTimeAreDropped() {
        try (Workspace ws = Workspace.open()) {
            float[] once = Workspace.floats(100);                          // one step needed a second array
            Workspace.floats(100);
            ws.reset();
            float[] kept = Workspace.floats(100);                          // the later steps need one
            for (int i = 0; i < Workspace.KEEP_RESETS; i++) {
                ws.reset();
                assertSame(kept, Workspace.floats(100), "the same array, step after step");
            }
            ws.reset();                                                    // the other one was not taken for KEEP_RESETS resets
            Workspace.floats(100);
            float[] next = Workspace.floats(100);
            assertNotSame(once, next, "dropped, so a new one");
        }
    }

    @Test
    void aNestedWorkspaceBorrowsTheOuterArraysAndGivesEverythingBack() {
        try (Workspace outer = Workspace.open()) {
            float[] step = Workspace.floats(32);
            outer.reset();                                      // the step is over: its array is free
            float[] inEval, extra;
            try (Workspace eval = Workspace.open()) {
                inEval = Workspace.floats(32);
                extra = Workspace.floats(48);
            }
            assertSame(step, inEval, "the evaluation reused the training step's array");
            assertEquals(4L * (32 + 48), Workspace.allocatedBytes(), "the nested workspace's new array counts as the outer's");
            outer.reset();                                      // sizes the evaluation asked for count as asked: kept
            assertSame(extra, Workspace.floats(48), "the evaluation's own arrays came back to the outer pool");
            assertSame(step, Workspace.floats(32));
        }
    }

    @Test
    void anEvaluationBetweenStepsKeepsTheTrainingSizes() {
        try (Workspace outer = Workspace.open()) {
            float[] gradient = Workspace.floats(64);            // asked for by training steps only
            outer.release();                                    // the step is over; an evaluation follows
            try (Workspace eval = Workspace.open()) {
                Workspace.floats(24);                           // the evaluation's own shape
            }
            outer.reset();                                      // the next training step
            assertSame(gradient, Workspace.floats(64), "the training step's array survived the evaluation");
        }
    }

    @Test
    void recycledArraysAreReusedWithinAStepAndForeignOnesIgnored() {
        try (Workspace ws = Workspace.open()) {
            float[] a = Workspace.floats(16);
            Workspace.recycle(a);
            assertSame(a, Workspace.floats(16));
            Workspace.recycle(new float[16]);                   // not from the pool: ignored
            assertTrue(Workspace.current() != null);
        }
        assertFalse(Workspace.current() != null);
    }
}
