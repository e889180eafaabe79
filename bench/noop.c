/* The exec floor: a static C program that does nothing. What any probe costs
 * at the least to start, measured in the same run as the probe. */
int main(void) { return 0; }
