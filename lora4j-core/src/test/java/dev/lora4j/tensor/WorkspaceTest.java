package dev.lora4j.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class WorkspaceTest {
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
            assertTrue(Workspace.active());
        }
        assertFalse(Workspace.active());
    }
}
