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

    @Test
    void sizesTheLastStepDidNotAskForAreDropped() {
        try (Workspace ws = Workspace.open()) {
            float[] longBatch = Workspace.floats(100);          // step 1: a batch padded to one length
            ws.reset();
            Workspace.floats(60);                               // step 2: another length; 100 is still free
            ws.reset();                                         // 100 was not asked for in step 2: dropped
            assertNotSame(longBatch, Workspace.floats(100));
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
