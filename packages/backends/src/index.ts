export { registerWasmTrainingKernels } from './kernels/register';
